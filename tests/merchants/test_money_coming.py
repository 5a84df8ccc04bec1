"""Money coming (issue 13, item 2): the stored deadlines of what is on its way and not
late, grouped by expected arrival day and by bank credit where the acquirer has said
which one: "预计今日 18:00 前到账 ¥X；明天 ¥Y；本周 ¥Z"."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from merchants.selectors import coming_of
from settlement.models import Payout, Transaction
from tests.factories import make_transaction, push

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=SH)  # a Wednesday


def _due(txn: Transaction, at: datetime) -> Transaction:
    Transaction.objects.filter(pk=txn.pk).update(expected_by=at, overdue_at=at + timedelta(hours=2))
    txn.refresh_from_db()
    return txn


@pytest.fixture
def week(merchant):
    with time_machine.travel(NOW, tick=False):
        at_six = NOW.replace(hour=18)
        payout = Payout.objects.create(channel=merchant.channel, reference="PAY-WED", merchant=merchant,
                                       amount=Decimal("0"), status=Payout.Status.SENT, sent_at=NOW)
        in_credit = _due(make_transaction(merchant=merchant, amount="1000.00"), at_six)
        push(in_credit, "cleared", NOW - timedelta(minutes=30))
        push(in_credit, "settled", NOW - timedelta(minutes=20), payout_reference=payout.reference)
        loose = _due(make_transaction(merchant=merchant, amount="200.00"), at_six)
        in_grace = _due(make_transaction(merchant=merchant, amount="50.00"), NOW - timedelta(hours=1))
        tomorrow = _due(make_transaction(merchant=merchant, amount="300.00"), at_six + timedelta(days=1))
        friday = _due(make_transaction(merchant=merchant, amount="400.00"), at_six + timedelta(days=2))
        monday = _due(make_transaction(merchant=merchant, amount="500.00"), at_six + timedelta(days=5))
        late = _due(make_transaction(merchant=merchant, amount="600.00"), NOW - timedelta(days=2))
        Transaction.objects.filter(pk=late.pk).update(delayed_since=NOW - timedelta(days=1))
        held = _due(make_transaction(merchant=merchant, amount="700.00"), at_six)
        push(held, "held", NOW - timedelta(minutes=5))
        yield {"payout": payout, "in_credit": in_credit, "loose": loose, "in_grace": in_grace,
               "tomorrow": tomorrow, "friday": friday, "monday": monday}


def test_grouped_by_day_and_bank_credit(week):
    with time_machine.travel(NOW, tick=False):
        coming = coming_of(week["payout"].merchant)
    net = {k: v.net for k, v in week.items() if isinstance(v, Transaction)}
    assert [d.day.isoformat() for d in coming.days] == ["2026-12-02", "2026-12-03", "2026-12-04", "2026-12-07"]
    today = coming.today
    assert today.amount == net["in_credit"] + net["loose"] + net["in_grace"] and today.count == 3
    assert today.by == NOW.replace(hour=18)
    # the bank credit the acquirer named first, then what is not yet in one
    assert [(c.payout_reference, c.amount) for c in today.credits] == [
        ("PAY-WED", net["in_credit"]), ("", net["loose"] + net["in_grace"])]
    assert coming.tomorrow.amount == net["tomorrow"]
    # this week: Wednesday to Sunday, today included; Monday's is next week; late and held are not "coming"
    assert coming.this_week == net["in_credit"] + net["loose"] + net["in_grace"] + net["tomorrow"] + net["friday"]


def test_the_home_page_says_it_in_one_line(client, week, merchant_user):
    client.force_login(merchant_user)
    net = {k: v.net for k, v in week.items() if isinstance(v, Transaction)}
    today = net["in_credit"] + net["loose"] + net["in_grace"]
    this_week = today + net["tomorrow"] + net["friday"]
    with time_machine.travel(NOW, tick=False):
        zh = client.get("/m/").content.decode()
        en = client.get("/m/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        api = client.get("/api/v1/merchant/today/").json()["coming"]
    assert f"预计今日 18:00 前到账 ¥{today:,.2f}；明天 ¥{net['tomorrow']:,.2f}；本周 ¥{this_week:,.2f}" in zh
    assert f"expected by 18:00 today: ¥{today:,.2f}; tomorrow ¥{net['tomorrow']:,.2f}" in en
    assert f'href="/m/arrivals/{week["payout"].pk}/"' in zh
    assert api["today"] == f"{today:.2f}" and api["this_week"] == f"{this_week:.2f}"
    assert [d["day"] for d in api["days"]] == ["2026-12-02", "2026-12-03", "2026-12-04", "2026-12-07"]
    assert api["days"][0]["credits"][0]["payout_reference"] == "PAY-WED"


def test_nothing_coming_says_so(client, merchant, merchant_user):
    client.force_login(merchant_user)
    body = client.get("/m/").content.decode()
    assert "今日无预计到账；明天 ¥0.00；本周 ¥0.00" in body
