"""Tenant isolation across EVERY route of the dashboard (/m/) and the merchant API,
found by introspecting the URL resolver: a new route is covered (or fails here until
it says which object its ids refer to). Merchant A uses merchant B's ids in the path,
the query string, filters, export, inquiries and the merchant switch: the answer is a
404, a form error or an empty list, never B's data, and nothing of B's changes."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from merchants.selectors import SESSION_KEY
from settlement.models import CaseEntry, FollowUpCase, Notification

pytestmark = pytest.mark.django_db

NAMESPACES = ("merchants", "merchant-api")
# Which of B's objects a route's <pk> names. A new <pk> route must be added here.
PK_KIND = {
    "merchants:swipe": "txn", "merchants:swipe-ask": "txn",
    "merchants:arrival": "payout", "merchants:arrival-ask": "payout",
    "merchants:case": "case", "merchants:case-reply": "case",
    "merchant-api:transaction": "txn", "merchant-api:payout": "payout", "merchant-api:case": "case",
    "merchants:team-role": "membership", "merchants:team-remove": "membership",
}
# B's data as it would appear if leaked. The query A sends (B's reference SECRET100 and
# amount 7777.77) is echoed back in search forms, so markers exclude those exact values.
SECRET_MARKERS = ("别家店", "SECRET101", "SECRET102", "PSECRET", "SNSECRET", "7,777.77", "4,444.44", "4444.44")


def merchant_routes() -> list[tuple[str, str, list[str]]]:
    """(namespaced name, route template, path converters) for every route in NAMESPACES."""
    found = []

    def walk(patterns, prefix: str, namespace: str | None):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern), p.namespace or namespace)
            elif isinstance(p, URLPattern) and namespace in NAMESPACES:
                found.append((f"{namespace}:{p.name}", prefix + str(p.pattern), list(p.pattern.converters)))

    walk(get_resolver().url_patterns, "/", None)
    return found


def test_the_introspection_finds_every_route():
    names = {name for name, _route, _conv in merchant_routes()}
    assert {"merchants:home", "merchants:export", "merchants:switch", "merchant-api:transactions"} <= names
    assert len(names) >= 20


def foreign_ids(other) -> dict:
    from merchants.models import Membership

    return {"txn": other.late.pk, "payout": other.payout.pk, "case": other.case.pk,
            "membership": Membership.objects.filter(merchant=other.merchant).values_list("pk", flat=True).first()}


def leaks(response) -> list[str]:
    if getattr(response, "streaming", False):
        body = b"".join(response.streaming_content).decode()
    else:
        body = response.content.decode()
    return [m for m in SECRET_MARKERS if m in body] + [ref for ref in CASE_REFS if ref in body]


CASE_REFS: list[str] = []


def test_every_route_refuses_another_merchants_ids(client, shop, other_shop, merchant_user):
    client.force_login(merchant_user)
    CASE_REFS[:] = [other_shop.case.reference]
    ids = foreign_ids(other_shop)
    before = (CaseEntry.objects.filter(case__merchant=other_shop.merchant).count(),
              FollowUpCase.objects.filter(merchant=other_shop.merchant).count())
    b = other_shop
    query = {
        "merchant": b.merchant.pk, "reference": b.credited.reference, "terminal": b.terminal.pk,
        "amount": "7777.77", "last4": "4321", "transaction": b.credited.pk, "payout": b.payout.pk,
        "date_from": "2000-01-01", "date_to": "2000-12-31",
    }
    failures = []
    for name, route, converters in merchant_routes():
        path = route
        for conv in converters:
            kind = PK_KIND.get(name)
            assert kind, f"{name} takes <{conv}>: say in PK_KIND which object it names"
            path = path.replace(f"<int:{conv}>", str(ids[kind]))
        for params in (query, {k: v for k, v in query.items() if k != "merchant"}, {}):
            for method in ("get", "post"):
                data = {**params, "message": "where is my money"} if method == "post" else params
                response = getattr(client, method)(path, data)
                if response.status_code >= 500 or leaks(response):
                    failures.append((method, path, params, response.status_code, leaks(response)))
                # A foreign <pk> is a 404 whatever the method (or 405 for a wrong method).
                if converters:
                    assert response.status_code in (404, 405), (method, path, response.status_code)
        assert client.session.get(SESSION_KEY) in (None, shop.merchant.pk), name
    assert not failures, failures
    after = (CaseEntry.objects.filter(case__merchant=b.merchant).count(),
             FollowUpCase.objects.filter(merchant=b.merchant).count())
    assert after == before, "A wrote into B's cases"
    assert list(b.merchant.memberships.values_list("role", flat=True)) == ["owner"], "A changed B's people"
    assert Notification.objects.filter(merchant=b.merchant, read_at__isnull=False).count() == 0


def test_switching_to_another_merchant_is_a_404(client, shop, other_shop, merchant_user):
    client.force_login(merchant_user)
    response = client.post("/m/switch/", {"merchant": other_shop.merchant.pk})
    assert response.status_code == 404
    assert client.session.get(SESSION_KEY) is None
    home = client.get("/m/", HTTP_ACCEPT_LANGUAGE="en")
    assert shop.merchant.name.encode() in home.content and b"SECRET" not in home.content


def test_a_session_pointing_at_a_lost_merchant_falls_back_to_an_own_one(client, shop, other_shop, merchant_user):
    # given a stale session value (e.g. membership removed) naming another merchant
    client.force_login(merchant_user)
    session = client.session
    session[SESSION_KEY] = other_shop.merchant.pk
    session.save()
    # then the dashboard shows the user's own merchant
    response = client.get("/m/")
    assert response.status_code == 200 and not leaks(response)
    assert shop.merchant.name.encode() in response.content


def test_user_of_two_merchants_switches_between_them(client, shop, merchant_user):
    from tests.factories import MembershipFactory, MerchantFactory

    second = MerchantFactory(name="第二家店 Second Shop")
    MembershipFactory(user=merchant_user, merchant=second)
    client.force_login(merchant_user)
    assert client.post("/m/switch/", {"merchant": second.pk}).status_code == 302
    page = client.get("/m/swipes/")
    assert page.context["merchant"] == second and page.context["results"] == []
    # the first shop's swipe is not shown under the second shop: opening it switches
    # back to its own shop first (issue 13), then it shows
    response = client.get(f"/m/swipes/{shop.late.pk}/")
    assert response.status_code == 302 and client.session["merchant_id"] == shop.merchant.pk
    assert client.get(f"/m/swipes/{shop.late.pk}/").context["merchant"] == shop.merchant


def test_merchant_internal_case_notes_stay_internal(client, shop, merchant_user):
    client.force_login(merchant_user)
    page = client.get(f"/m/cases/{shop.case.pk}/")
    api = client.get(f"/api/v1/merchant/cases/{shop.case.pk}/")
    assert b"We asked the bank" in page.content and b"internal note" not in page.content
    assert "internal note" not in api.content.decode()


def test_anonymous_and_staff_without_merchant_get_nothing(client, shop, staff_user):
    for _name, route, _converters in merchant_routes():
        path = route.replace("<int:pk>", str(shop.late.pk))
        response = client.get(path)
        assert response.status_code in (302, 401, 403, 405), (path, response.status_code)
    client.force_login(staff_user)
    assert client.get("/m/").status_code == 403
    assert client.get("/api/v1/merchant/transactions/").status_code == 403


def test_token_auth_has_the_same_isolation(client, shop, other_shop, merchant_user):
    from knox.models import AuthToken

    token = AuthToken.objects.create(user=merchant_user)[1]
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    mine = client.get("/api/v1/merchant/transactions/", **auth).json()
    assert {row["reference"] for row in mine["results"]} == {"A100", "A101", "A102"}
    assert client.get(f"/api/v1/merchant/transactions/{other_shop.late.pk}/", **auth).status_code == 404
    response = client.get(f"/api/v1/merchant/transactions/?merchant={other_shop.merchant.pk}", **auth)
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
