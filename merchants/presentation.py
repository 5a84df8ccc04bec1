"""How the dashboard says things: money, status names, and the expected arrival in
plain words, in the active language. Pure except for the calendar lookup."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext

from channels.holiday_names import holiday_name, is_chinese
from channels.selectors import business_days_for
from merchants.models import Merchant
from settlement.arrival import Cycle
from settlement.lifecycle import FINAL_STATUSES, Status
from settlement.models import Transaction
from settlement.services.schedule import arrival_for


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
    # A re-settled swipe's deadline counts from the re-settlement (settlement.services.reschedule).
    arrival = arrival_for(channel=channel, cycle=merchant.settlement_cycle,
                          captured_at=txn.scheduled_from or txn.captured_at, days=days)
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
