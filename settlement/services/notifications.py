"""What merchants are told when a swipe becomes late and when it finally arrives:
an in-app row (rendered in the reader's language at display time) and an email in
the merchant's language. The unique constraint `notification_once_per_txn_state`
makes "at most one per swipe per state" hold however often detection runs."""

import json
import logging
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from settlement.models import Notification

log = logging.getLogger(__name__)


def notifications_create(
    *, kind: str, items: list[tuple[int, int, int | None, dict]], now: datetime
) -> list[int]:
    """Insert (merchant_id, transaction_id, case_id, data) rows in one statement; returns
    the ids of the rows that are new (a repeat for the same swipe and state is skipped)."""
    if not items:
        return []
    one = "(%s, %s, %s, %s, %s, %s)"
    sql = (
        f"INSERT INTO {Notification._meta.db_table} (merchant_id, transaction_id, case_id, kind, data, created_at) "
        f"VALUES {', '.join([one] * len(items))} "
        "ON CONFLICT (transaction_id, kind) WHERE transaction_id IS NOT NULL AND kind IN ('late', 'arrived') "
        "DO NOTHING RETURNING id"
    )
    at = connection.ops.adapt_datetimefield_value(now)
    params = [v for m, t, c, data in items for v in (m, t, c, kind, json.dumps(data), at)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _local(value: str, tz: str) -> str:
    parsed = parse_datetime(value) if value else None
    if parsed is None:
        return ""
    return parsed.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def _money(value: str) -> str:
    try:
        return f"¥{Decimal(value):,.2f}"
    except (ArithmeticError, ValueError, TypeError):
        return value


def notification_render(notification: Notification, *, tz: str | None = None) -> tuple[str, str]:
    """(title, body) in the active language, from the facts stored in `data`."""
    data = notification.data or {}
    tz = tz or notification.merchant.timezone
    facts = {
        "reference": data.get("reference", ""),
        "amount": _money(data.get("amount", "")),
        "expected_by": _local(data.get("expected_by", ""), tz),
        "new_estimate": _local(data.get("new_estimate", ""), tz),
        "credited_at": _local(data.get("credited_at", ""), tz),
        "case": data.get("case_reference", ""),
        "delay_hours": data.get("delay_hours", ""),
    }
    if notification.kind == Notification.Kind.LATE:
        title = _("Payment %(amount)s is late") % facts
        body = _(
            "Your card payment %(amount)s (reference %(reference)s) was expected in your bank account by "
            "%(expected_by)s and has not arrived yet. We are following it up with the acquirer. "
            "New estimate: %(new_estimate)s. Case reference: %(case)s."
        ) % facts
    elif notification.kind == Notification.Kind.ARRIVED:
        title = _("Payment %(amount)s has arrived") % facts
        body = _(
            "Your card payment %(amount)s (reference %(reference)s) was credited to your bank account at "
            "%(credited_at)s, %(delay_hours)s hours later than expected. Case %(case)s is closed. "
            "Sorry for the wait."
        ) % facts
    else:
        from settlement.services.replies import case_update_render  # replies imports this module

        title, body = case_update_render(data, tz=tz) or (
            _("Update on your inquiry %(case)s") % facts, data.get("message", ""))
    return title, body


def notifications_send_emails(*, notification_ids: list[int], now: datetime | None = None) -> int:
    """Email each notification once, in its merchant's language. Claimed with a
    conditional update first, so two workers never send the same one twice."""
    now = now or timezone.now()
    claimed = list(
        Notification.objects.filter(id__in=notification_ids, emailed_at__isnull=True).values_list("id", flat=True)
    )
    sent = 0
    for notification_id in claimed:
        if not Notification.objects.filter(id=notification_id, emailed_at__isnull=True).update(emailed_at=now):
            continue  # another worker took it
        notification = Notification.objects.select_related("merchant").get(id=notification_id)
        merchant = notification.merchant
        if not merchant.contact_email:
            continue
        with translation.override(merchant.language):
            title, body = notification_render(notification)
        try:
            send_mail(title, body, settings.DEFAULT_FROM_EMAIL, [merchant.contact_email])
            sent += 1
        except OSError:
            # The in-app row stands; email is best effort. Let a later run retry it.
            Notification.objects.filter(id=notification_id).update(emailed_at=None)
            log.warning("email for notification %s failed", notification_id)
    return sent
