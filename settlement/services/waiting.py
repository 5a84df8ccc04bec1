"""Waiting on the merchant or on the acquirer/bank stops a case's SLA clock.

The SLA is counted in business days of the channel's calendar (delays.case_sla_due),
so a pause is too: resuming moves `sla_due_at` forward by the business time the case
waited, laid out again over business days. A pause over a weekend or a holiday costs
the clock nothing for those days, and the new due time skips them as well."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction as db_transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.business_days import BusinessDays
from channels.selectors import business_days_for
from settlement.models import CaseEntry, FollowUpCase
from settlement.services.cases import CaseError, _entry

WAITING = {"merchant": FollowUpCase.Status.WAITING_MERCHANT, "acquirer": FollowUpCase.Status.WAITING_ACQUIRER}
WAITING_STATUSES = list(WAITING.values())
# Bounds the walk on bad data (a calendar with no business day for months).
MAX_DAYS = 400


def business_seconds(days: BusinessDays, tz: ZoneInfo, start: datetime, end: datetime) -> int:
    """Seconds of [start, end) that fall on business days, in the calendar's time zone."""
    total, cursor, end_local = 0.0, start.astimezone(tz), end.astimezone(tz)
    for _day in range(MAX_DAYS):
        if cursor >= end_local:
            break
        next_midnight = datetime.combine(cursor.date() + timedelta(days=1), time(0), tzinfo=tz)
        stop = min(next_midnight, end_local)
        if days.is_business_day(cursor.date()):
            total += (stop - cursor).total_seconds()
        cursor = stop
    return int(total)


def add_business_seconds(days: BusinessDays, tz: ZoneInfo, start: datetime, seconds: int) -> datetime:
    """`start` moved forward by `seconds` of business-day time (non-business days skipped)."""
    cursor, left = start.astimezone(tz), float(seconds)
    for _day in range(MAX_DAYS):
        if left <= 0:
            break
        next_midnight = datetime.combine(cursor.date() + timedelta(days=1), time(0), tzinfo=tz)
        if not days.is_business_day(cursor.date()):
            cursor = next_midnight
            continue
        room = (next_midnight - cursor).total_seconds()
        if left <= room:
            return cursor + timedelta(seconds=left)
        left -= room
        cursor = next_midnight
    return cursor


@db_transaction.atomic
def case_wait(*, case: FollowUpCase, by: AbstractBaseUser, on: str, note: str = "",
              now: datetime | None = None) -> FollowUpCase:
    """Wait on the merchant or the acquirer: the SLA clock stops until the wait ends."""
    now = now or timezone.now()
    if on not in WAITING:
        raise CaseError("invalid_wait", _("Wait on the merchant or on the acquirer / bank."))
    changed = FollowUpCase.objects.filter(
        pk=case.pk, status__in=[FollowUpCase.Status.OPEN, FollowUpCase.Status.CLAIMED, FollowUpCase.Status.ESCALATED]
    ).update(status=WAITING[on], sla_paused_at=now, last_action_at=now)
    if not changed:
        raise CaseError("cannot_wait", _("Only an unresolved case that is not waiting already can wait."))
    _entry(case, CaseEntry.Kind.WAITING, by=by, now=now, body=note.strip(),
           data={"on": on, "sla_due_at": case.sla_due_at.isoformat()})
    case.refresh_from_db()
    return case


def case_resume(*, case: FollowUpCase, by: AbstractBaseUser | None, why: str,
                only: list[str] | None = None, now: datetime | None = None) -> bool:
    """End a wait: the SLA due time moves by the business time waited. False when the
    case was not waiting (or not in one of `only`): then nothing changes."""
    now = now or timezone.now()
    with db_transaction.atomic():
        current = (FollowUpCase.objects.select_for_update().select_related("channel")
                   .filter(pk=case.pk, status__in=only or WAITING_STATUSES).first())
        if current is None:
            return False
        days = business_days_for(current.channel.calendar_id)
        tz = ZoneInfo(current.channel.timezone)
        paused = business_seconds(days, tz, current.sla_paused_at, now)
        due = add_business_seconds(days, tz, current.sla_due_at, paused)
        back_to = FollowUpCase.Status.CLAIMED if current.assignee_id else FollowUpCase.Status.OPEN
        FollowUpCase.objects.filter(pk=current.pk).update(status=back_to, sla_paused_at=None, sla_due_at=due,
                                                          last_action_at=now)
        _entry(current, CaseEntry.Kind.RESUMED, by=by, now=now, data={
            "why": why, "waited_seconds": int((now - current.sla_paused_at).total_seconds()),
            "business_seconds": paused, "sla_due_at": due.isoformat(),
        })
    case.refresh_from_db()
    return True
