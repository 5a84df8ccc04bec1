"""Expected arrival for a swipe, from its channel's rules and calendar."""

from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from channels.business_days import BusinessDays
from channels.models import Channel
from channels.selectors import business_days_for
from settlement.arrival import Arrival, ArrivalRules, expected_arrival

CENT = Decimal("0.01")


def arrival_rules(channel: Channel, cycle: str) -> ArrivalRules:
    return ArrivalRules(
        cycle=cycle,
        tz=ZoneInfo(channel.timezone),
        cutoff=channel.cutoff_time,
        arrival_by=channel.arrival_by_time,
        day_start=channel.day_start_time,
        window=timedelta(minutes=channel.same_day_window_minutes),
    )


def arrival_for(
    *, channel: Channel, cycle: str, captured_at: datetime, days: BusinessDays | None = None
) -> Arrival:
    days = days if days is not None else business_days_for(channel.calendar_id)
    return expected_arrival(captured_at, arrival_rules(channel, cycle), days)


def schedule_fields(*, channel: Channel, cycle: str, captured_at: datetime, days: BusinessDays | None = None) -> dict:
    """The Transaction columns that follow from the expected arrival."""
    arrival = arrival_for(channel=channel, cycle=cycle, captured_at=captured_at, days=days)
    return {
        "business_date": arrival.business_date,
        "expected_by": arrival.expected_by,
        "overdue_at": arrival.expected_by + timedelta(minutes=channel.grace_minutes),
        "calendar_incomplete": arrival.calendar_incomplete,
    }


def fee_for(amount: Decimal, fee_rate_bps: int) -> Decimal:
    return (amount * fee_rate_bps / Decimal(10000)).quantize(CENT, rounding=ROUND_HALF_UP)
