"""What a moved deadline says to people, in the reader's language: the swipe page's
"预计到账时间已更新：… 原因：…" line and the merchant's batch notification. Rendered
at display time from the facts stored on the `rescheduled` event / notification."""

from datetime import date
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




def _day(value: str) -> str:
    try:
        d = date.fromisoformat(value)
    except (TypeError, ValueError):
        return value or ""
    return _("%(m)s/%(d)s") % {"m": d.month, "d": d.day}


def _moment(value: str, tz: str) -> str:
    at = parse_datetime(value or "")
    if at is None:
        return ""
    local = at.astimezone(ZoneInfo(tz))
    return f"{_day(local.date().isoformat())} {local:%H:%M}"


def holiday_plan_notification(data: dict, *, tz: str) -> tuple[str, str]:
    """"节假日到账安排：10月1日–7日刷卡的款项，将于10月8日18:00前到账" (with "更新" when the
    calendar changed the plan after it was first sent)."""
    facts = {"name": data.get("name", ""), "from": _day(data.get("from", "")), "to": _day(data.get("to", "")),
             "first": _moment(data.get("first_arrives_by", ""), tz), "last": _moment(data.get("last_arrives_by", ""), tz)}
    title = _("Holiday settlement plan: %(name)s") % facts
    if data.get("update"):
        title = _("Updated: %(title)s") % {"title": title}
    if data.get("in_transit"):
        facts.update(n=data.get("count", 0), amount=_money(data.get("amount", "")),
                     by=_moment(data.get("in_transit_by", ""), tz))
        return title, _("The %(name)s holiday has begun: %(n)s of your card payments (%(amount)s) are on their "
                        "way and will all have arrived by %(by)s.") % facts
    if facts["first"] == facts["last"]:
        body = _("Holiday settlement plan: card payments taken %(from)s–%(to)s will arrive by %(last)s.") % facts
    else:
        body = _("Holiday settlement plan: card payments taken %(from)s–%(to)s arrive as usual, the first by "
                 "%(first)s and the last by %(last)s.") % facts
    return title, body
