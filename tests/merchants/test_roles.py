"""Roles per membership (issue 13, item 8): an owner sees everything; a cashier sees
today's swipes and find only - no bank credits, no account digits, no export, no cases,
messages or invitations. Found by introspecting every route of the merchant dashboard
and the merchant API, like test_isolation: a new route is a cashier 403 unless it is
listed in merchants.roles.CASHIER_PAGES."""

import pytest

from merchants.roles import CASHIER_PAGES
from tests.factories import MembershipFactory, UserFactory
from tests.merchants.test_isolation import PK_KIND, merchant_routes

pytestmark = pytest.mark.django_db


@pytest.fixture
def cashier(client, shop):
    user = UserFactory(username="cashier1")
    MembershipFactory(user=user, merchant=shop.merchant, role="cashier")
    client.force_login(user)
    return client


def _path(route: str, converters: list[str], name: str, shop) -> str:
    owner = shop.merchant.memberships.get(role="owner")  # a cashier may not touch it, nor any member
    ids = {"txn": shop.late.pk, "payout": shop.payout.pk, "case": shop.case.pk, "membership": owner.pk}
    for conv in converters:
        route = route.replace(f"<int:{conv}>", str(ids[PK_KIND[name]]))
    return route


def test_a_cashier_is_refused_everything_but_swipes(cashier, shop):
    refused, allowed = [], []
    for name, route, converters in merchant_routes():
        path = _path(route, converters, name, shop)
        codes = {m: getattr(cashier, m)(path, {"message": "hi"} if m == "post" else {}).status_code
                 for m in ("get", "post")}
        if name in CASHIER_PAGES:
            allowed.append(name)
            assert 403 not in codes.values(), (name, codes)
        else:
            refused.append(name)
            assert set(codes.values()) <= {403, 405} and 403 in codes.values(), (name, codes)
    assert {"merchants:arrivals", "merchants:arrival", "merchants:export", "merchants:tokens",
            "merchant-api:payouts", "merchants:team", "merchants:team-role", "merchants:team-remove"} <= set(refused)
    assert {"merchants:home", "merchants:swipes", "merchants:swipe"} <= set(allowed)


def test_a_cashier_sees_no_account_digits_or_bank_credits(cashier, shop):
    for url in ("/m/", "/m/live/", "/m/swipes/", f"/m/swipes/{shop.credited.pk}/", "/m/statuses/"):
        body = cashier.get(url).content.decode()
        assert "6021" not in body and "/m/arrivals/" not in body and "/m/export/" not in body, url
        assert shop.payout.reference not in body, url
    merchants = cashier.get("/api/v1/merchant/merchants/").json()
    assert merchants[0]["account_last4"] is None
    for day in cashier.get("/api/v1/merchant/today/").json()["coming"]["days"]:
        assert day["credits"] == []


def test_a_cashier_changed_no_one(cashier, shop):
    for name, route, converters in merchant_routes():
        if name.startswith("merchants:team"):
            path = _path(route, converters, name, shop)
            cashier.post(path, {"role": "cashier"})
    assert sorted(shop.merchant.memberships.values_list("role", flat=True)) == ["cashier", "owner"]


def test_an_owner_sees_it_all(client, shop, merchant_user):
    client.force_login(merchant_user)
    assert client.get("/m/arrivals/").status_code == 200 and client.get("/m/export/").status_code == 200
    assert client.get("/api/v1/merchant/merchants/").json()[0]["account_last4"] == "6021"
    assert "/m/arrivals/" in client.get("/m/").content.decode()
