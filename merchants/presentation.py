"""How the dashboard says things: money, status names, and the expected arrival in
plain words, in the active language. Pure except for the calendar lookup."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext, pgettext

from channels.selectors import business_days_for
from merchants.models import Merchant
from settlement.arrival import Cycle
from settlement.lifecycle import FINAL_STATUSES, Status
from settlement.models import Transaction
from settlement.services.schedule import arrival_for

# The `holidays` package names China's holidays in English; merchants read Chinese.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Chinese New Year's Eve": "春节",
    "Chinese New Year (Spring Festival)": "春节",
    "Spring Festival": "春节",
    "Tomb-Sweeping Day": "清明节",
    "Labor Day": "劳动节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-Autumn Festival": "中秋节",
    "National Day": "国庆",
}
# Group names in English for the sentence "postponed over the ... holiday".
HOLIDAY_NAMES_EN = {"Chinese New Year's Eve": "Spring Festival", "Chinese New Year (Spring Festival)": "Spring Festival"}
_OBSERVED = re.compile(r"\s*\((observed|substituted[^)]*)\)\s*$", re.IGNORECASE)


def is_chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


def money(amount: Decimal | int | None) -> str:
    """¥1,280.00: the same in both languages, never a float."""
    if amount is None:
        return ""
    value = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if value < 0 else ""
    return f"{sign}¥{abs(value):,.2f}"


def day_words(day: date) -> str:
    if is_chinese():
        return f"{day.month}月{day.day}日"
    return date_format(day, "j F")


def moment_words(at: datetime) -> str:
    """`at` in the active time zone (the merchant's, set by the view)."""
    local = timezone.localtime(at)
    if is_chinese():
        return f"{local.month}月{local.day}日 {local:%H:%M}"
    return f"{local:%H:%M} on {date_format(local.date(), 'j F')}"


def holiday_name(raw: str) -> str:
    """A display name for a calendar entry, or "" for days off that are only 调休 swaps."""
    base = _OBSERVED.sub("", raw or "").strip()
    if not base or base.lower().startswith("day off") or "调休" in base:
        return ""
    if is_chinese():
        return HOLIDAY_NAMES_ZH.get(base, base)
    return HOLIDAY_NAMES_EN.get(base, base)


def postponed_reason(skipped: tuple[date, ...], names: dict[date, str]) -> str:
    """Why the due day moved: over a named holiday, or over the weekend."""
    if not skipped:
        return ""
    holiday_names: list[str] = []
    for day in skipped:
        name = holiday_name(names.get(day, ""))
        if name and name not in holiday_names:
            holiday_names.append(name)
    if holiday_names:
        joined = "、".join(holiday_names) if is_chinese() else " and ".join(holiday_names)
        return gettext("postponed over the %(holiday)s holiday") % {"holiday": joined}
    if any(d.weekday() < 5 for d in skipped):
        return gettext("postponed over the holiday")
    return gettext("postponed over the weekend")


def arrival_words(txn: Transaction, merchant: Merchant) -> str:
    """"预计 10月8日 18:00 前到账：T+1，国庆假期顺延" / "expected by 18:00 on 8 October: T+1,
    postponed over the National Day holiday". The time is the stored `expected_by`; the
    reason is recomputed from the channel's calendar (cached snapshot)."""
    if txn.status == Status.CREDITED and txn.credited_at:
        return gettext("arrived %(when)s") % {"when": moment_words(txn.credited_at)}
    if txn.status in FINAL_STATUSES:
        return gettext("no money due: the payment was %(status)s") % {"status": status_label(txn.status)}
    cycle = Cycle(merchant.settlement_cycle).label
    channel = merchant.channel
    days = business_days_for(channel.calendar_id)
    arrival = arrival_for(channel=channel, cycle=merchant.settlement_cycle, captured_at=txn.captured_at, days=days)
    reason = postponed_reason(arrival.skipped, dict(days.names))
    when = moment_words(txn.expected_by)
    if txn.delayed_since:
        text = gettext("late: was expected by %(when)s") % {"when": when}
    else:
        text = gettext("expected by %(when)s") % {"when": when}
    detail = cycle if not reason else pgettext("cycle, reason", "%(cycle)s, %(reason)s") % {
        "cycle": cycle, "reason": reason,
    }
    if txn.calendar_incomplete:
        detail = pgettext("cycle, reason", "%(cycle)s, %(reason)s") % {
            "cycle": detail, "reason": gettext("holiday dates for that year not yet announced"),
        }
    return gettext("%(expected)s: %(detail)s") % {"expected": text, "detail": detail}


def status_label(status: str) -> str:
    return str(Status(status).label) if status in Status.values else status


# CSS class per status: the colour tells "money is here" / "on its way" / "problem".
STATUS_TONE = {
    Status.CREDITED: "ok",
    Status.HELD: "bad",
    Status.RETURNED: "bad",
    Status.REVERSED: "muted",
    Status.REFUNDED: "muted",
}


def status_tone(status: str, delayed: bool = False) -> str:
    if delayed and status not in FINAL_STATUSES:
        return "bad"
    return STATUS_TONE.get(status, "wait")
