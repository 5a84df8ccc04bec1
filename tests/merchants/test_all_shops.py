"""A multi-shop owner (issue 13, item 3): every shop at a glance with its totals and
late count, a badge across shops, a link to another of the owner's shops switches to
it instead of a 404, and styled 404/403/500 pages in both languages."""

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error

from merchants.selectors import SESSION_KEY
from tests.factories import MembershipFactory, MerchantFactory
from tests.merchants.conftest import build_shop

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_shops(shop, merchant_user):
    second = MerchantFactory(name="二号店 Shop Two")
    MembershipFactory(user=merchant_user, merchant=second)
    return shop, build_shop(second, tag="B", amount_late="64.24")


@pytest.fixture
def owner(client, two_shops, merchant_user):
    client.force_login(merchant_user)
    session = client.session
    session[SESSION_KEY] = two_shops[0].merchant.pk
    session.save()
    return client


def test_the_summary_lists_every_shop_with_its_numbers(owner, two_shops):
    first, second = two_shops
    response = owner.get("/m/shops/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    summary = response.context["summary"]
    assert {s.merchant.pk for s in summary.shops} == {first.merchant.pk, second.merchant.pk}
    by_shop = {s.merchant.pk: s for s in summary.shops}
    assert by_shop[second.merchant.pk].late.count == 1 and by_shop[second.merchant.pk].unread == 1
    assert summary.late.count == 2 and summary.unread == 2
    assert summary.today.swiped == by_shop[first.merchant.pk].today.swiped + by_shop[second.merchant.pk].today.swiped
    assert summary.today.net == summary.today.arrived + summary.today.on_the_way
    body = response.content.decode()
    assert "二号店 Shop Two" in body and "Late: 2 payments" in body and "See its late payments" in body


def test_the_summary_matches_each_shops_own_home(owner, two_shops):
    from merchants.selectors import home_numbers

    summary = owner.get("/m/shops/").context["summary"]
    for row in summary.shops:
        own = home_numbers(row.merchant)
        assert row.today == own.today and row.late == own.late


def test_the_badge_counts_every_shop(owner, two_shops):
    body = owner.get("/m/").content.decode()
    badge = body[body.index('data-testid="all-shops"'):]
    badge = badge[:badge.index("</a>")]
    assert '>2</span>' in badge  # two late swipes, one per shop; and two unread messages
    assert badge.count('class="badge') == 2


def test_a_swipe_of_my_other_shop_switches_to_it(owner, two_shops):
    first, second = two_shops
    url = f"/m/swipes/{second.late.pk}/"
    response = owner.get(url)
    assert response.status_code == 302 and response["Location"] == url
    assert owner.session[SESSION_KEY] == second.merchant.pk
    page = owner.get(url)
    assert page.status_code == 200 and page.context["txn"].pk == second.late.pk
    assert "二号店 Shop Two" in page.content.decode()
    for url, mine, other in ((f"/m/arrivals/{first.payout.pk}/", first, second),
                             (f"/m/cases/{first.case.pk}/", first, second)):
        owner.post("/m/switch/", {"merchant": other.merchant.pk})
        assert owner.get(url).status_code == 302 and owner.session[SESSION_KEY] == mine.merchant.pk
        assert owner.get(url).status_code == 200


def test_a_swipe_of_someone_elses_shop_is_still_a_404(owner, two_shops, other_shop):
    response = owner.get(f"/m/swipes/{other_shop.late.pk}/")
    assert response.status_code == 404
    assert owner.session[SESSION_KEY] == two_shops[0].merchant.pk
    # a POST never switches shops behind the user's back
    assert owner.post(f"/m/swipes/{two_shops[1].late.pk}/ask/", {"message": "hi"}).status_code == 404


def test_switch_goes_on_to_a_dashboard_page_only(owner, two_shops):
    second = two_shops[1].merchant.pk
    response = owner.post("/m/switch/", {"merchant": second, "next": "/m/swipes/?late=1"})
    assert response["Location"] == "/m/swipes/?late=1"
    for evil in ("https://evil.example/m/", "//evil.example/m/", "/admin/"):
        assert owner.post("/m/switch/", {"merchant": second, "next": evil})["Location"] == "/m/"


def test_styled_error_pages_in_both_languages(owner):
    response = owner.get("/m/swipes/999999999/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "找不到这个页面" in body and "We cannot find this page" in body and 'href="/m/"' in body
    assert "Not Found" not in body
    response = server_error(RequestFactory().get("/"))
    body = response.content.decode()
    assert response.status_code == 500 and "出错了" in body and "Something went wrong" in body and 'href="/m/"' in body
