"""Waiting on the merchant or the acquirer pauses the SLA clock, in business time of
the channel's calendar; the merchant's reply or a recorded contact resumes it."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from channels.selectors import business_days_for
from settlement.models import CaseEntry, FollowUpCase
from settlement.services.cases import case_record_contact, case_resolve
from settlement.services.inquiries import inquiry_reply
from settlement.services.waiting import add_business_seconds, business_seconds, case_resume, case_wait
from tests.settlement.test_staff_pages import open_case

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def _pause(case, by, *, at: datetime, until: datetime, due: datetime, on="acquirer") -> FollowUpCase:
    FollowUpCase.objects.filter(pk=case.pk).update(sla_due_at=due)
    case.refresh_from_db()
    case_wait(case=case, by=by, on=on, now=at)
    assert case_resume(case=case, by=by, why="test", now=until)
    case.refresh_from_db()
    return case


def test_a_pause_over_a_weekend_costs_the_weekend_nothing(staff_user):
    case = open_case()
    # Friday 10:00 to Monday 10:00: 14 h on Friday + 10 h on Monday of business time.
    case = _pause(case, staff_user, at=datetime(2026, 11, 20, 10, 0, tzinfo=SH),
                  until=datetime(2026, 11, 23, 10, 0, tzinfo=SH), due=datetime(2026, 11, 20, 18, 0, tzinfo=SH))
    # due Friday 18:00 + 24 business hours: 6 h on Friday, the weekend skipped, 18 h on Monday
    assert case.sla_due_at == datetime(2026, 11, 23, 18, 0, tzinfo=SH)
    assert case.status == FollowUpCase.Status.OPEN and case.sla_paused_at is None
    resumed = case.entries.get(kind=CaseEntry.Kind.RESUMED)
    assert resumed.data["business_seconds"] == 24 * 3600 and resumed.data["waited_seconds"] == 72 * 3600


def test_a_pause_over_national_day_skips_the_holiday(staff_user):
    case = open_case()
    days = business_days_for(case.channel.calendar_id)
    assert not any(days.is_business_day(datetime(2026, 10, d).date()) for d in range(1, 8))
    assert days.is_business_day(datetime(2026, 10, 8).date())
    case = _pause(case, staff_user, at=datetime(2026, 9, 30, 12, 0, tzinfo=SH),
                  until=datetime(2026, 10, 8, 12, 0, tzinfo=SH), due=datetime(2026, 9, 30, 18, 0, tzinfo=SH))
    assert case.sla_due_at == datetime(2026, 10, 8, 18, 0, tzinfo=SH)


def test_the_arithmetic_on_a_make_up_working_saturday(staff_user):
    case = open_case()
    days = business_days_for(case.channel.calendar_id)
    saturday = datetime(2026, 10, 10, 0, 0, tzinfo=SH)  # 调休: a working Saturday
    assert business_seconds(days, SH, saturday, saturday + timedelta(days=2)) == 24 * 3600
    assert add_business_seconds(days, SH, datetime(2026, 10, 9, 20, 0, tzinfo=SH), 6 * 3600) == datetime(
        2026, 10, 10, 2, 0, tzinfo=SH)


def test_the_merchant_replying_resumes_a_wait_on_the_merchant(staff_user, merchant, merchant_user):
    case = open_case(merchant=merchant)
    case_wait(case=case, by=staff_user, on="merchant", note="asked for the bank slip")
    inquiry_reply(user=merchant_user, merchant=merchant, case=case, message="slip attached")
    case.refresh_from_db()
    assert case.status == FollowUpCase.Status.OPEN and case.sla_paused_at is None
    assert case.entries.filter(kind=CaseEntry.Kind.RESUMED, data__why="merchant_replied").count() == 1


def test_a_recorded_contact_resumes_a_wait_on_the_acquirer(staff_user):
    case = open_case()
    case_wait(case=case, by=staff_user, on="acquirer")
    case_record_contact(case=case, by=staff_user, party="ICBC ops", said="sent today")
    case.refresh_from_db()
    assert case.status == FollowUpCase.Status.OPEN
    kinds = list(case.entries.values_list("kind", flat=True))
    assert kinds[-3:] == ["waiting", "resumed", "contact"]


def test_waiting_cases_have_their_views_and_never_breach(client, staff_user):
    now = timezone.now()
    waiting = open_case()
    late = open_case(sla_due_at=now - timedelta(hours=1))
    case_wait(case=waiting, by=staff_user, on="acquirer", now=now - timedelta(hours=3))
    FollowUpCase.objects.filter(pk=waiting.pk).update(sla_due_at=now - timedelta(hours=2))  # due while paused
    client.force_login(staff_user)
    html = client.get("/staff/", {"view": "waiting_acquirer"}).content.decode()
    assert waiting.reference in html and late.reference not in html
    html = client.get("/staff/", {"view": "breached"}).content.decode()
    assert late.reference in html and waiting.reference not in html
    assert client.get("/staff/", {"view": "waiting_merchant"}).content.decode().count("case-row") == 0


def test_wait_and_resume_from_the_case_page(client, staff_user):
    case = open_case()
    client.force_login(staff_user)
    assert client.post(f"/staff/cases/{case.pk}/wait/", {"on": "merchant", "note": "slip"}).status_code == 302
    assert FollowUpCase.objects.get(pk=case.pk).status == "waiting_merchant"
    html = client.get(f"/staff/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "paused since" in html and 'id="resume-form"' in html
    assert client.post(f"/staff/cases/{case.pk}/resume/").status_code == 302
    assert client.post(f"/staff/cases/{case.pk}/resume/", follow=True).status_code == 200  # not waiting: a message
    assert FollowUpCase.objects.get(pk=case.pk).status == "open"


def test_a_waiting_case_can_be_resolved(staff_user):
    case = open_case()
    case_wait(case=case, by=staff_user, on="acquirer")
    case_resolve(case=case, by=staff_user, outcome="compensated")
    case.refresh_from_db()
    assert case.status == "resolved" and case.sla_paused_at is None
