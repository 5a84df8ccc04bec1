"""What a moved deadline says to people, in the reader's language: the swipe page's
"预计到账时间已更新：… 原因：…" line and the merchant's batch notification. Rendered
at display time from the facts stored on the `rescheduled` event / notification."""

from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _


def reschedule_reason(facts: dict) -> str:
    reason = facts.get("reason", "")
    if reason == "calendar_year":
        return _("the %(year)s holiday schedule was entered") % {"year": facts.get("year", "")}
    if reason == "calendar_day":
        days = ", ".join(d for d, _kind in facts.get("days", [])[:3])
        return _("the holiday calendar changed (%(days)s)") % {"days": days}
    if reason == "channel_rules":
        return _("the acquirer's settlement times changed")
    if reason == "repaid":
        return _("the money was paid again after the bank returned it")
    return _("the settlement schedule changed")


def _when(value: str, tz: str | None) -> str:
    at = parse_datetime(value or "")
    if at is None:
        return ""
    local = at.astimezone(ZoneInfo(tz)) if tz else at
    return local.strftime("%Y-%m-%d %H:%M")


def rescheduled_line(payload: dict, *, tz: str | None = None) -> str:
    """"预计到账时间已更新：2027-01-04 18:00 原因：2027年节假日安排已录入"."""
    return _("Expected arrival updated: %(when)s because %(reason)s") % {
        "when": _when(payload.get("new_expected_by", ""), tz), "reason": reschedule_reason(payload),
    }


def _money(value: str) -> str:
    try:
        return f"¥{Decimal(value):,.2f}"
    except (InvalidOperation, ValueError, TypeError):
        return value


def rescheduled_notification(data: dict, *, tz: str) -> tuple[str, str]:
    """(title, body) of the one message per rescheduling batch and merchant."""
    count = data.get("count", 0)
    title = _("Expected arrival updated for %(n)s payment(s)") % {"n": count}
    moves = "; ".join(
        _("%(n)s by %(when)s (%(amount)s)") % {"n": n, "when": _when(at, tz), "amount": _money(amount)}
        for at, n, amount in data.get("moves", [])
    )
    body = _("%(n)s card payment(s) totalling %(amount)s have a new expected arrival: %(moves)s. "
             "Reason: %(reason)s.") % {"n": count, "amount": _money(data.get("amount", "")), "moves": moves,
                                      "reason": reschedule_reason(data)}
    return title, body


