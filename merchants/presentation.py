"""How the dashboard says things: money, status names, and the expected arrival in
plain words, in the active language. Pure except for the calendar lookup."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, pgettext

from channels.holiday_names import holiday_name, is_chinese
from channels.selectors import business_days_for
from merchants import glossary
from merchants.models import Merchant
from settlement.arrival import Cycle
from settlement.lifecycle import FINAL_STATUSES, EventType, Status
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
    """A swipe's status as the merchant pages say it (merchants.glossary)."""
    return glossary.swipe_label(status)


def event_label(event_type: str) -> str:
    """A timeline step: the status it led to, in the same words as the badge."""
    if event_type == EventType.RELEASED:
        return gettext("Released")
    if event_type == EventType.DELAYED:
        return gettext("Found late")
    return glossary.swipe_label(event_type)


def status_tone(status: str, delayed: bool = False) -> str:
    """The badge colour: "money is here" / "on its way" / "problem" / "no money due"."""
    if delayed and status not in FINAL_STATUSES:
        return "bad"
    return next((t.tone for t in glossary.SWIPE_TERMS if t.key == status), "wait")


def money_equation(today) -> str:
    """Today's figures as one sentence that adds up (selectors.Today). HTML: each
    amount is a span the stylesheet keeps on one line."""
    text = gettext("%(swiped)s swiped − %(fee)s fee = %(net)s: %(arrived)s arrived + %(on_the_way)s on its way")
    amounts = {
        name: format_html('<span class="amt" data-testid="eq-{}">{}</span>', name, money(getattr(today, name)))
        for name in ("swiped", "fee", "net", "arrived", "on_the_way")
    }
    return mark_safe(escape(text) % amounts)  # noqa: S308 - the text is escaped, the amounts built by format_html


def coming_words(coming) -> str:
    """"预计今日 18:00 前到账 ¥X；明天 ¥Y；本周 ¥Z" (selectors.Coming)."""
    if coming.today:
        first = gettext("expected by %(time)s today: %(amount)s") % {
            "time": f"{timezone.localtime(coming.today.by):%H:%M}", "amount": money(coming.today.amount)}
    else:
        first = gettext("nothing expected today")
    parts = [
        first,
        gettext("tomorrow %(amount)s") % {"amount": money(coming.tomorrow_amount)},
        gettext("this week %(amount)s") % {"amount": money(coming.this_week)},
    ]
    return gettext("; ").join(parts)
