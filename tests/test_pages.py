import pytest

from tests.factories import make_transaction

pytestmark = pytest.mark.django_db


def test_home_page_says_what_is_running(client, merchant):
    make_transaction(merchant=merchant)
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert b"Demo logins" in response.content
    assert merchant.channel.code.encode() in response.content


def test_admin_is_reachable_for_staff(client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    assert client.get("/admin/settlement/transaction/").status_code == 200
    assert client.get("/admin/channels/calendarday/").status_code == 200


def test_admin_requires_login(client):
    assert client.get("/admin/").status_code == 302


def test_healthz(client):
    assert client.get("/healthz").json()["ok"] is True
