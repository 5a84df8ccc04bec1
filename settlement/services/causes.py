"""The suggested cause of a late swipe, from what we know, with the evidence behind it.

Pure: the late scan gathers the facts for a whole batch in a constant number of
queries and calls `cause_suggest` per row. The order of the rules is the order of
certainty: a status the acquirer told us (held, returned) beats an inference.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from channels.business_days import BusinessDays
from channels.holiday_names import day_off_name
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
    # From the payout's open PayoutDiscrepancy (stored by the payout door), never recomputed here.
    payout_reference: str = ""
    payout_amount: Decimal | None = None
    payout_net_sum: Decimal | None = None
    payout_discrepancy: Decimal | None = None
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
    mismatch = facts.payout_discrepancy is not None
    if mismatch:
        evidence["payout"] = {
            "reference": facts.payout_reference,
            "amount": str(facts.payout_amount),
            "sum_of_nets": str(facts.payout_net_sum),
            "difference": str(facts.payout_discrepancy),
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


_RULES = {
    "status_held": gettext_lazy("The acquirer reported the swipe held by risk control."),
    "status_returned": gettext_lazy("The bank returned the credit (e.g. wrong settlement account)."),
    "polls_failing": gettext_lazy("The channel's status polls are failing."),
    "payout_amount_mismatch": gettext_lazy("The payout amount differs from the sum of its swipes."),
    "window_spans_holiday": gettext_lazy("The settlement window spans a public holiday."),
    "channel_burst": gettext_lazy("Many swipes of this channel became late at the same time."),
    "settled_not_credited": gettext_lazy("Settled by the acquirer, not yet credited by the bank."),
    "cleared_not_settled": gettext_lazy("Cleared, not yet settled by the payment platform."),
    "captured_not_cleared": gettext_lazy("Captured, not yet cleared by the clearing house."),
    "no_rule": gettext_lazy("Nothing known points to a cause yet."),
}


def evidence_describe(evidence: dict) -> list[str]:
    """The evidence as sentences for staff, in the active language."""
    if not evidence or evidence.get("rule") == "contradicts_final":  # shown side by side instead
        return []
    lines = [str(_RULES.get(evidence.get("rule", ""), evidence.get("rule", "")))]
    if "status" in evidence:
        status = evidence["status"]
        lines.append(_("Status when found late: %(s)s") % {"s": Status(status).label if status in Status.values else status})
    if "channel_health" in evidence:
        lines.append(_("Channel health: %(h)s, %(n)s consecutive failed polls") % {
            "h": evidence["channel_health"], "n": evidence.get("poll_failures", 0)})
    if evidence.get("last_poll_error"):
        lines.append(_("Last poll error: %(e)s") % {"e": evidence["last_poll_error"]})
    for day, name in evidence.get("holidays", []):
        lines.append(_("Holiday in the window: %(day)s %(name)s") % {"day": day, "name": day_off_name(name, date.fromisoformat(day))})
    if "burst" in evidence:
        lines.append(_("%(n)s swipes of the channel late in the same window") % {"n": evidence["burst"]})
    if "payout" in evidence:
        p = evidence["payout"]
        lines.append(_("Payout %(ref)s: amount %(a)s, sum of swipes %(s)s") % {
            "ref": p.get("reference"), "a": p.get("amount"), "s": p.get("sum_of_nets")})
    if evidence.get("calendar_incomplete"):
        lines.append(_("Expected arrival used a year with no holiday data (Mon-Fri fallback)."))
    return lines
