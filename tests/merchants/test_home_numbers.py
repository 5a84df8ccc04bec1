"""Home numbers that add up (issue 13, item 1): swiped - fee = net = arrived + on its
way for today's captures; late is its own section (any day, oldest first); the page and
`/api/v1/merchant/today/` show the same numbers from merchants.selectors.home_numbers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from merchants.selectors import home_numbers
from tests.factories import make_transaction, push
from tests.merchants.conftest import detected_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, shop, merchant_user):
    client.force_login(merchant_user)
    return client


def _mixed_day(shop):
    """Besides the shop's 300.00 credited and 58.50 on its way: a refunded swipe (no
    money due) and a held one (still owed), both today; an old late swipe stays out
    of today's figures but is in the late section."""
    now = timezone.now()
    today_early = shop.on_the_way.captured_at - timedelta(minutes=1)
    refunded = make_transaction(merchant=shop.merchant, amount="999.00", captured_at=today_early)
    push(refunded, "refunded", today_early + timedelta(seconds=30))
    held = make_transaction(merchant=shop.merchant, amount="100.00", captured_at=today_early)
    push(held, "held", today_early + timedelta(seconds=30))
    older = make_transaction(merchant=shop.merchant, amount="64.24", captured_at=now - timedelta(days=9))
    detected_case(older)
    return refunded, held, older


def test_todays_figures_add_up_and_late_is_any_day(shop):
    _refunded, _held, older = _mixed_day(shop)
    numbers = home_numbers(shop.merchant)
    today, late = numbers.today, numbers.late
    # 300.00 + 58.50 + 100.00 held; the refund carries no money
    assert today.swiped == Decimal("458.50") and today.count == 3
    assert today.swiped - today.fee == today.net
    assert today.net == today.arrived + today.on_the_way
    assert today.arrived == shop.credited.net
    # late: the 1,280.00 of 3 days ago and the 64.24 of 9 days ago, not today's
    assert late.count == 2
    assert late.amount == shop.late.net + older.net
    assert late.oldest_expected_by < shop.late.expected_by


def test_the_page_and_the_api_give_the_same_numbers(logged_in, shop):
    _mixed_day(shop)
    page = logged_in.get("/m/", HTTP_ACCEPT_LANGUAGE="en").context
    api = logged_in.get("/api/v1/merchant/today/").json()
    today, late = page["today"], page["late_total"]
    for name in ("swiped", "fee", "net", "arrived", "on_the_way"):
        assert api[name] == f"{getattr(today, name):.2f}", name
    assert api["count"] == today.count
    assert api["late_count"] == late.count == 2
    assert api["late_amount"] == f"{late.amount:.2f}"


def test_the_equation_is_written_out_in_both_languages(logged_in, shop):
    numbers = home_numbers(shop.merchant).today
    zh = logged_in.get("/m/").content.decode()
    # 300.00 + 58.50 swiped, 0.60 % fee each (1.80 + 0.35)
    expected = (f"{_span('swiped', '¥358.50')} 刷卡 − {_span('fee', '¥2.15')} 手续费 = {_span('net', '¥356.35')}："
                f"已到账 {_span('arrived', '¥298.20')} + 在途 {_span('on_the_way', '¥58.15')}")
    assert numbers.net == Decimal("356.35")
    assert expected in zh
    en = logged_in.get("/m/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f"{_span('swiped', '¥358.50')} swiped − {_span('fee', '¥2.15')} fee = {_span('net', '¥356.35')}" in en


def _span(name: str, amount: str) -> str:
    return f'<span class="amt" data-testid="eq-{name}">{amount}</span>'


def test_late_section_lists_the_oldest_first_and_says_how_many_and_how_much(logged_in, shop):
    _refunded, _held, older = _mixed_day(shop)
    response = logged_in.get("/m/")
    assert [t.pk for t in response.context["late"]] == [older.pk, shop.late.pk]
    body = response.content.decode()
    amount = f"¥{shop.late.net + older.net:,.2f}"
    assert f"2 笔，{amount}" in body
    # the late tile no longer sits among today's figures
    assert 'data-testid="late-count"' not in body


def test_no_late_payments_says_so(logged_in, shop):
    shop.case.delete()
    type(shop.late).objects.filter(pk=shop.late.pk).update(delayed_since=None)
    body = logged_in.get("/m/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Nothing is late." in body and "0 payments, ¥0.00" in body


def test_the_late_filter_of_find_lists_every_late_swipe(logged_in, shop):
    _refunded, _held, older = _mixed_day(shop)
    results = logged_in.get("/m/swipes/", {"late": "1"}).context["results"]
    assert {t.pk for t in results} == {shop.late.pk, older.pk}
    api = logged_in.get("/api/v1/merchant/transactions/", {"late": "true"}).json()
    assert {r["id"] for r in api["results"]} == {shop.late.pk, older.pk}
