"""The suggested cause of a late swipe, from what we know, with the evidence behind it.

Pure: the late scan gathers the facts for a whole batch in a constant number of
queries and calls `cause_suggest` per row. The order of the rules is the order of
certainty: a status the acquirer told us (held, returned) beats an inference.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from channels.business_days import BusinessDays
from settlement.lifecycle import Status
from settlement.models.cases import Cause


@dataclass(frozen=True)
class CauseFacts:
    status: str
    channel_health: str = "up"
    poll_failures: int = 0
    last_poll_error: str = ""
    holidays: tuple[tuple[date, str], ...] = ()  # non-business days inside the window
    burst: int = 0  # late swipes of the channel in the incident window
    burst_threshold: int = 0
    payout_reference: str = ""
    payout_amount: Decimal | None = None
    payout_net_sum: Decimal | None = None
    calendar_incomplete: bool = False
    outage_failures: int = 3


@dataclass(frozen=True)
class Suggestion:
    cause: str
    evidence: dict = field(default_factory=dict)


def holidays_in_window(
    days: BusinessDays, *, business_date: date, expected_by: datetime, tz: ZoneInfo
) -> tuple[tuple[date, str], ...]:
    """Named days off (statutory holidays, not plain weekends) from the business date
    up to the due day: the window "spans a holiday"."""
    last = expected_by.astimezone(tz).date()
    found = []
    day = business_date
    while day <= last and len(found) < 31:
        if day in days.holidays and days.is_known(day):
            found.append((day, days.name_of(day)))
        day += timedelta(days=1)
    return tuple(found)


def cause_suggest(facts: CauseFacts) -> Suggestion:
    evidence: dict = {"status": facts.status}
    if facts.channel_health != "up" or facts.poll_failures:
        evidence["channel_health"] = facts.channel_health
        evidence["poll_failures"] = facts.poll_failures
        if facts.last_poll_error:
            evidence["last_poll_error"] = facts.last_poll_error[:200]
    if facts.holidays:
        evidence["holidays"] = [[d.isoformat(), name] for d, name in facts.holidays]
    if facts.burst_threshold and facts.burst >= facts.burst_threshold:
        evidence["burst"] = facts.burst
    if facts.calendar_incomplete:
        evidence["calendar_incomplete"] = True
    mismatch = (
        facts.payout_amount is not None
        and facts.payout_net_sum is not None
        and facts.payout_amount != facts.payout_net_sum
    )
    if mismatch:
        evidence["payout"] = {
            "reference": facts.payout_reference,
            "amount": str(facts.payout_amount),
            "sum_of_nets": str(facts.payout_net_sum),
        }

    def found(cause: str, rule: str) -> Suggestion:
        return Suggestion(cause, {**evidence, "rule": rule})

    if facts.status == Status.HELD:
        return found(Cause.RISK_HOLD, "status_held")
    if facts.status == Status.RETURNED:
        return found(Cause.WRONG_ACCOUNT, "status_returned")
    if facts.channel_health != "up" or facts.poll_failures >= facts.outage_failures:
        return found(Cause.CHANNEL_OUTAGE, "polls_failing")
    if mismatch:
        return found(Cause.DATA_ERROR, "payout_amount_mismatch")
    if facts.holidays:
        return found(Cause.HOLIDAY_BACKLOG, "window_spans_holiday")
    if "burst" in evidence:
        return found(Cause.HOLIDAY_BACKLOG, "channel_burst")
    if facts.status == Status.SETTLED:
        return found(Cause.BANK_PROCESSING, "settled_not_credited")
    if facts.status == Status.CLEARED:
        return found(Cause.PLATFORM_SETTLEMENT, "cleared_not_settled")
    if facts.status == Status.CAPTURED:
        return found(Cause.CLEARING_HOUSE, "captured_not_cleared")
    return found(Cause.UNKNOWN, "no_rule")
