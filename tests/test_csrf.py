"""Every session-authenticated write refuses a POST without the CSRF token (403) and
changes nothing; the same POST with the token goes through. The acquirer API is signed,
not session-authenticated, so it is not in this list."""

import pytest
from django.test import Client

from settlement.models import CaseEntry, FollowUpCase
from tests.merchants.conftest import build_shop
from tests.settlement.test_staff_pages import open_case

pytestmark = pytest.mark.django_db


def _csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _token(client: Client, page: str) -> str:
    client.get(page)
    return client.cookies["csrftoken"].value


def test_merchant_writes_need_the_csrf_token(merchant, merchant_user):
    shop = build_shop(merchant, tag="C")
    client = _csrf_client(merchant_user)
    writes = [
        (f"/m/swipes/{shop.late.pk}/ask/", {"message": "还没到账 not arrived"}),
        (f"/m/arrivals/{shop.payout.pk}/ask/", {"message": "金额不对 wrong amount"}),
        (f"/m/cases/{shop.case.pk}/reply/", {"message": "请尽快 please hurry"}),
        ("/m/notifications/read/", {}),
        ("/m/switch/", {"merchant": merchant.pk}),
        ("/api/v1/merchant/inquiries/", {"transaction": shop.late.pk, "message": "API 咨询"}),
        ("/accounts/logout/", {}),
    ]
    entries = CaseEntry.objects.count()
    for url, data in writes:
        assert client.post(url, data).status_code == 403, url
    assert CaseEntry.objects.count() == entries
    token = _token(client, "/m/")
    response = client.post(f"/m/swipes/{shop.late.pk}/ask/", {"message": "还没到账"}, HTTP_X_CSRFTOKEN=token)
    assert response.status_code in (200, 302)
    assert CaseEntry.objects.count() > entries


def test_staff_actions_need_the_csrf_token(staff_user):
    case = open_case()
    client = _csrf_client(staff_user)
    for action, data in [("claim", {}), ("note", {"body": "called the bank"}), ("resolve", {"outcome": "no_fault"})]:
        assert client.post(f"/staff/cases/{case.pk}/{action}/", data).status_code == 403, action
    case.refresh_from_db()
    assert case.status == FollowUpCase.Status.OPEN and case.assignee is None
    token = _token(client, f"/staff/cases/{case.pk}/")
    client.post(f"/staff/cases/{case.pk}/claim/", {}, HTTP_X_CSRFTOKEN=token)
    case.refresh_from_db()
    assert case.assignee == staff_user


def test_login_form_needs_the_csrf_token(merchant_user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "shopkeeper", "password": "correct-horse-battery"})
    assert response.status_code == 403
