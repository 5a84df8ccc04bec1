"""Escalation does something: escalated cases sort first, and "untouched for N hours"
counts business hours on the channel's calendar, like the SLA."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from channels.selectors import business_days_for
from settlement.models import FollowUpCase
from settlement.services.cases import business_hours_before, case_escalate, cases_escalate_untouched
from settlement.staff.selectors import QueueFilters, case_queue
from tests.factories import MerchantFactory
from tests.settlement.test_cases import late_case

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.django_db
def test_escalated_cases_sort_first_then_sla_then_amount(staff_user):
    merchant = MerchantFactory()
    early, big, escalated = late_case(merchant), late_case(merchant), late_case(merchant)
    FollowUpCase.objects.filter(pk=early.pk).update(sla_due_at=early.sla_due_at - timedelta(hours=5))
    FollowUpCase.objects.filter(pk=big.pk).update(amount_at_stake=9999)
    FollowUpCase.objects.filter(pk=escalated.pk).update(sla_due_at=escalated.sla_due_at + timedelta(days=3))
    case_escalate(case=escalated, by=staff_user, reason="merchant called twice")
    order = list(case_queue(filters=QueueFilters()).values_list("id", flat=True))
    assert order == [escalated.id, early.id, big.id]


@pytest.mark.django_db
def test_business_hours_skip_the_weekend():
    days = business_days_for(MerchantFactory().channel.calendar_id)
    monday_8 = datetime(2026, 11, 16, 8, 0, tzinfo=SH)
    # every hour of a business day counts (as the SLA keeps the clock time); Saturday
    # and Sunday do not: 12 business hours before Monday 08:00 is Friday 20:00
    assert business_hours_before(days=days, now=monday_8, tz=SH, hours=12) == datetime(2026, 11, 13, 20, 0, tzinfo=SH)
    assert business_hours_before(days=days, now=monday_8, tz=SH, hours=2) == datetime(2026, 11, 16, 6, 0, tzinfo=SH)
    # the National Day week: 2026-10-08 09:00 minus 12 h lands on 2026-09-30 21:00
    assert business_hours_before(days=days, now=datetime(2026, 10, 8, 9, 0, tzinfo=SH), tz=SH, hours=12) == \
        datetime(2026, 9, 30, 21, 0, tzinfo=SH)


@pytest.mark.django_db
def test_a_case_untouched_over_the_weekend_is_not_escalated_early(settings):
    settings.DELAYS_CASE_ESCALATE_AFTER_HOURS = 8
    case = late_case()
    friday_20 = datetime(2026, 11, 20, 20, 0, tzinfo=SH)
    FollowUpCase.objects.filter(pk=case.pk).update(last_action_at=friday_20)
    # 60 wall-clock hours later but only 4 business hours (Friday 20-24)
    assert cases_escalate_untouched(now=datetime(2026, 11, 23, 8, 0, tzinfo=SH) - timedelta(hours=4)) == 0
    # Monday 04:01: 4 h on Friday + 4 h 1 min on Monday
    assert cases_escalate_untouched(now=datetime(2026, 11, 23, 4, 1, tzinfo=SH)) == 1
    case.refresh_from_db()
    assert case.status == "escalated"
