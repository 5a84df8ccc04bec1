"""Expected arrival (DESIGN.md "Expected arrival"): pure arithmetic, no database.

Everything happens in the channel's local time zone; the result is an aware datetime.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import models

from channels.business_days import BusinessDays, first_business_day


class Cycle(models.TextChoices):
    """Settlement cycles. An enum only: importing it touches no database."""

    T1 = "T1", "T+1"
    D1 = "D1", "D+1"
    T0 = "T0", "T+0"
    D0 = "D0", "D+0"


@dataclass(frozen=True)
class ArrivalRules:
    cycle: str
    tz: ZoneInfo
    cutoff: time = time(23, 0)
    arrival_by: time = time(18, 0)
    day_start: time = time(9, 0)  # the "morning" T0/D0 count their window from
    window: timedelta = timedelta(hours=2)


@dataclass(frozen=True)
class Arrival:
    business_date: date
    expected_by: datetime
    calendar_incomplete: bool
    settle_day: date  # the day the money is due (business day for T cycles)
    skipped: tuple[date, ...] = ()  # non-business days the due day was pushed over


def business_date_of(captured_at: datetime, rules: ArrivalRules) -> date:
    """The capture date, or the next natural day at or after the cut-off."""
    local = captured_at.astimezone(rules.tz)
    if local.time() >= rules.cutoff:
        return local.date() + timedelta(days=1)
    return local.date()


def expected_arrival(captured_at: datetime, rules: ArrivalRules, days: BusinessDays) -> Arrival:
    if captured_at.tzinfo is None:
        raise ValueError("captured_at must be timezone-aware")
    local = captured_at.astimezone(rules.tz)
    bdate = business_date_of(captured_at, rules)
    before_cutoff = bdate == local.date()

    def at(day: date, clock: time) -> datetime:
        # Asia/Shanghai has no DST; for zones that do, fold=0 picks the first instant.
        return datetime.combine(day, clock, tzinfo=rules.tz)

    if rules.cycle == Cycle.T1:
        found = first_business_day(days, bdate + timedelta(days=1))
        return Arrival(bdate, at(found.day, rules.arrival_by), found.incomplete, found.day, found.skipped)
    if rules.cycle == Cycle.D1:
        due = bdate + timedelta(days=1)
        return Arrival(bdate, at(due, rules.arrival_by), False, due)
    if rules.cycle == Cycle.T0:
        today_known = days.is_known(local.date())
        if before_cutoff and days.is_business_day(local.date()):
            return Arrival(bdate, local + rules.window, not today_known, local.date())
        found = first_business_day(days, bdate)
        incomplete = found.incomplete or not today_known
        return Arrival(
            bdate, at(found.day, rules.day_start) + rules.window, incomplete, found.day, found.skipped
        )
    if rules.cycle == Cycle.D0:
        if before_cutoff:
            return Arrival(bdate, local + rules.window, False, local.date())
        return Arrival(bdate, at(bdate, rules.day_start) + rules.window, False, bdate)
    raise ValueError(f"unknown settlement cycle {rules.cycle!r}")
