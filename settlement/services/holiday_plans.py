"""A holiday plan for each merchant, before each holiday (issue 10, item 5).

`HOLIDAY_PLAN_DAYS_BEFORE` days before a holiday period of a channel calendar (a run of
days off containing a statutory holiday, in a complete year), each active merchant of
the channels on that calendar is told, in its own cycle, when money swiped during the
period arrives: "节假日到账安排：10月1日–7日刷卡的款项，将于10月8日18:00前到账".

One INSERT ... ON CONFLICT per calendar and period decides who is told: a new row is a
first message, an updated row (the plan changed since, e.g. a calendar edit) is an
"更新" message, an unchanged one is nothing. So two concurrent senders tell each
merchant once (holidayplan_once_per_merchant_holiday), and a repeat run is harmless.
"""

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import Count, Max, Sum
from django.utils import timezone

from channels.business_days import BusinessDays
from channels.holiday_names import holiday_name
from channels.models import Channel
from channels.selectors import business_days_for
from merchants.models import Merchant
from settlement.arrival import expected_arrival
from settlement.lifecycle import NON_FINAL_STATUSES
from settlement.models import HolidayPlan, Notification, Transaction
from settlement.services.notifications import notifications_create
from settlement.services.schedule import arrival_rules


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    name: str


def holiday_periods(days: BusinessDays, *, start: date, end: date) -> list[Period]:
    """Runs of days off that contain a holiday (not only a weekend) and begin in
    [start, end], in complete years only (an incomplete year's holidays are guesses)."""
    periods = []
    day = start
    while day <= end:
        begins = days.is_known(day) and not days.is_business_day(day) and days.is_business_day(day - timedelta(days=1))
        if not begins:
            day += timedelta(days=1)
            continue
        last, names = day, []
        while not days.is_business_day(last) and (last - day).days < 45:
            if last in days.holidays:
                names.append(days.name_of(last))
            last += timedelta(days=1)
        if names:
            name = next((n for n in names if n), "")
            periods.append(Period(day, last - timedelta(days=1), holiday_name(name) or name))
        day = last
    return periods


def plan_for(*, channel: Channel, cycle: str, days: BusinessDays, period: Period) -> dict:
    """When money swiped during the period arrives, in this cycle (the arrival arithmetic
    itself, for a swipe at noon on the first and on the last day off)."""
    tz = ZoneInfo(channel.timezone)
    rules = arrival_rules(channel, cycle)
    first = expected_arrival(datetime.combine(period.start, time(12), tzinfo=tz), rules, days).expected_by
    last = expected_arrival(datetime.combine(period.end, time(12), tzinfo=tz), rules, days).expected_by
    return {"from": period.start.isoformat(), "to": period.end.isoformat(), "name": period.name,
            "first_arrives_by": first.isoformat(), "last_arrives_by": last.isoformat(), "cycle": cycle}


def holiday_plans_send(*, now: datetime | None = None) -> list[int]:
    """Tell every active merchant the plan for holiday periods starting within the lead
    time, and on a period's first day the money already in transit for it. Returns the
    ids of the notifications written."""
    now = now or timezone.now()
    lead = settings.HOLIDAY_PLAN_DAYS_BEFORE
    ids: list[int] = []
    channels = list(Channel.objects.all())
    by_calendar: dict[int, list[Channel]] = {}
    for channel in channels:
        by_calendar.setdefault(channel.calendar_id, []).append(channel)
    for calendar_id, members in by_calendar.items():
        days = business_days_for(calendar_id)
        today = now.astimezone(ZoneInfo(members[0].timezone)).date()
        for period in holiday_periods(days, start=today, end=today + timedelta(days=lead)):
            ids += _send_period(calendar_id=calendar_id, channels=members, days=days, period=period, now=now)
            if period.start == today:
                ids += _send_in_transit(calendar_id=calendar_id, channels=members, period=period, now=now)
    return ids


@db_transaction.atomic
def _send_in_transit(*, calendar_id: int, channels: list[Channel], period: Period, now: datetime) -> list[int]:
    """The period has begun: each merchant told its plan hears, once (a conditional
    UPDATE claims the plan rows), how much of its money is on the way and by when."""
    table = HolidayPlan._meta.db_table
    at = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET in_transit_sent_at = %s WHERE calendar_id = %s AND period_start = %s "
            "AND in_transit_sent_at IS NULL RETURNING merchant_id, plan",
            [at, calendar_id, period.start],
        )
        claimed = {m: json.loads(p) if isinstance(p, str) else p for m, p in cursor.fetchall()}
    if not claimed:
        return []
    # One read for all of them: the in-flight swipes of the claimed merchants.
    totals = {
        row["merchant_id"]: row for row in Transaction.objects.filter(
            merchant_id__in=list(claimed), status__in=sorted(NON_FINAL_STATUSES))
        .values("merchant_id").annotate(n=Count("id"), amount=Sum("net"), latest=Max("expected_by")).order_by()
    }
    items = []
    for merchant_id, plan in claimed.items():
        got = totals.get(merchant_id)
        if not got:
            continue  # nothing on the way: nothing to say
        items.append((merchant_id, None, None, {
            **plan, "in_transit": True, "count": got["n"], "amount": str(got["amount"]),
            "in_transit_by": got["latest"].isoformat(),
        }))
    return notifications_create(kind=Notification.Kind.HOLIDAY_PLAN, items=items, now=now)


@db_transaction.atomic
def _send_period(*, calendar_id: int, channels: list[Channel], days: BusinessDays, period: Period,
                 now: datetime) -> list[int]:
    merchants = list(Merchant.objects.filter(channel__in=channels, status=Merchant.Status.ACTIVE)
                     .values_list("id", "channel_id", "settlement_cycle"))
    if not merchants:
        return []
    by_id = {c.id: c for c in channels}
    plans: dict[tuple[int, str], dict] = {}
    rows = []
    for merchant_id, channel_id, cycle in merchants:
        key = (channel_id, cycle)
        if key not in plans:
            plans[key] = plan_for(channel=by_id[channel_id], cycle=cycle, days=days, period=period)
        rows.append((merchant_id, calendar_id, period.start, period.end, period.name, json.dumps(plans[key]), 1,
                     connection.ops.adapt_datetimefield_value(now)))
    table = HolidayPlan._meta.db_table
    one = "(%s, %s, %s, %s, %s, %s, %s, %s)"
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    # Against holidayplan_once_per_merchant_holiday: the database decides who is told.
    sql = (
        f"INSERT INTO {table} AS p (merchant_id, calendar_id, period_start, period_end, name, plan, version, sent_at) "
        f"VALUES {', '.join([one] * len(rows))} "
        "ON CONFLICT (merchant_id, calendar_id, period_start) DO UPDATE SET "
        "plan = excluded.plan, period_end = excluded.period_end, version = p.version + 1, sent_at = excluded.sent_at "
        f"WHERE p.plan{cast} <> excluded.plan{cast} RETURNING merchant_id, version, plan"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [v for row in rows for v in row])
        told = cursor.fetchall()
    items = []
    for merchant_id, version, plan in told:
        plan = json.loads(plan) if isinstance(plan, str) else plan
        items.append((merchant_id, None, None, {**plan, "update": version > 1, "version": version}))
    return notifications_create(kind=Notification.Kind.HOLIDAY_PLAN, items=items, now=now)
