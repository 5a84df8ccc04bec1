"""A holiday plan for each merchant, before each holiday: once per merchant and holiday,
again as an update when the calendar changes the plan."""

import threading
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connections
from django.utils import translation

from channels.calendar_edit import calendar_day_set
from channels.selectors import business_days_for
from settlement.arrival import Cycle
from settlement.models import HolidayPlan, Notification
from settlement.services.holiday_plans import holiday_periods, holiday_plans_send
from settlement.services.notifications import notification_render
from settlement.services.schedule import arrival_for
from tests.factories import MerchantFactory

SH = ZoneInfo("Asia/Shanghai")
# Three days before the 2026 National Day holiday (1-7 October; 10 October is a 调休 Saturday).
SEP_28 = datetime(2026, 9, 28, 10, 0, tzinfo=SH)


@pytest.mark.django_db
def test_the_national_day_period_is_found():
    days = business_days_for(MerchantFactory().channel.calendar_id)
    periods = holiday_periods(days, start=date(2026, 9, 28), end=date(2026, 10, 1))
    assert [(p.start, p.end) for p in periods] == [(date(2026, 10, 1), date(2026, 10, 7))]
    assert holiday_periods(days, start=date(2026, 11, 2), end=date(2026, 11, 20)) == []  # weekends only


@pytest.mark.django_db
def test_each_merchant_is_told_its_own_cycles_dates_once(settings):
    settings.HOLIDAY_PLAN_DAYS_BEFORE = 3
    t1 = MerchantFactory(settlement_cycle=Cycle.T1)
    d1 = MerchantFactory(settlement_cycle=Cycle.D1, channel=t1.channel)
    MerchantFactory(channel=t1.channel, status="suspended")
    ids = holiday_plans_send(now=SEP_28)
    assert len(ids) == 2 and holiday_plans_send(now=SEP_28) == []
    plan = Notification.objects.get(merchant=t1, kind="holiday_plan").data
    # the arrival arithmetic itself: a T+1 swipe on any day off arrives on 8 October by 18:00
    expected = arrival_for(channel=t1.channel, cycle="T1", captured_at=datetime(2026, 10, 7, 12, tzinfo=SH)).expected_by
    assert datetime.fromisoformat(plan["last_arrives_by"]) == expected == datetime(2026, 10, 8, 18, 0, tzinfo=SH)
    with translation.override("zh-hans"):
        title, body = notification_render(Notification.objects.get(merchant=t1, kind="holiday_plan"))
    assert body == "节假日到账安排：10月1日–10月7日刷卡的款项，将于10月8日 18:00前到账。"
    d1_plan = Notification.objects.get(merchant=d1, kind="holiday_plan").data
    assert datetime.fromisoformat(d1_plan["first_arrives_by"]) == datetime(2026, 10, 2, 18, 0, tzinfo=SH)


@pytest.mark.django_db
def test_a_calendar_change_sends_the_plan_again_as_an_update(settings):
    settings.HOLIDAY_PLAN_DAYS_BEFORE = 3
    merchant = MerchantFactory()
    holiday_plans_send(now=SEP_28)
    calendar_day_set(calendar=merchant.channel.calendar, day=date(2026, 10, 8), kind="holiday", name="测试")
    assert len(holiday_plans_send(now=SEP_28)) == 1
    latest = Notification.objects.filter(merchant=merchant, kind="holiday_plan").order_by("-id").first()
    assert latest.data["update"] is True
    assert HolidayPlan.objects.get(merchant=merchant).version == 2
    with translation.override("zh-hans"):
        assert notification_render(latest)[0].startswith("更新：")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_senders_tell_each_merchant_once(settings):
    settings.HOLIDAY_PLAN_DAYS_BEFORE = 3
    merchants = [MerchantFactory() for _ in range(5)]
    barrier, results, errors = threading.Barrier(2), [], []

    def sender():
        try:
            barrier.wait()
            results.append(holiday_plans_send(now=SEP_28))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(len(r) for r in results) == 5
    for merchant in merchants:
        assert Notification.objects.filter(merchant=merchant, kind="holiday_plan").count() == 1


@pytest.mark.django_db
def test_when_the_period_begins_each_merchant_hears_its_money_in_transit_once(settings):
    from tests.factories import make_transaction

    settings.HOLIDAY_PLAN_DAYS_BEFORE = 3
    busy, idle = MerchantFactory(), MerchantFactory()
    holiday_plans_send(now=SEP_28)
    swipes = [make_transaction(merchant=busy, amount=a, captured_at=datetime(2026, 9, 30, 15, 0, tzinfo=SH))
              for a in ("100.00", "50.00")]
    oct_1 = datetime(2026, 10, 1, 9, 0, tzinfo=SH)
    assert len(holiday_plans_send(now=oct_1)) == 1 and holiday_plans_send(now=oct_1) == []
    told = Notification.objects.filter(merchant=busy, kind="holiday_plan").order_by("-id").first()
    assert told.data["in_transit"] and told.data["count"] == 2
    assert told.data["amount"] == str(sum(t.net for t in swipes))
    with translation.override("zh-hans"):
        body = notification_render(told)[1]
    assert "2笔" in body and "10月8日 18:00" in body, body
    assert not Notification.objects.filter(merchant=idle, data__in_transit=True).exists()
