"""What merchants are told when a swipe becomes late and when it finally arrives:
an in-app row (rendered in the reader's language at display time) and an email in
the merchant's language. The unique constraint `notification_once_per_txn_state`
makes "at most one per swipe per state" hold however often detection runs.

The row is the email's outbox entry. A task queued after commit sends it at once; the
beat sweeper (`notifications_sweep_emails`) sends what that task did not (a failed
send, a message lost with the broker), with exponential backoff, and gives up after
NOTIFICATION_EMAIL_MAX_ATTEMPTS with the reason on the row. A sender first claims
rows by a conditional UPDATE (attempts + 1, a lease in `email_next_attempt_at`) under
SKIP LOCKED, so two live senders never send one row twice. A sender killed between
the SMTP answer and its commit leaves the row leased: after the lease it is sent
again (the only duplicate possible; the stable Message-ID lets a mail system spot it)."""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.utils import DNS_NAME
from django.db import transaction as db_transaction
from django.db.models import F, QuerySet
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from config import metrics
from settlement.bulk_sql import rows_insert
from settlement.models import Notification

log = logging.getLogger(__name__)


def notifications_create(
    *, kind: str, items: list[tuple[int, int | None, int | None, dict]], now: datetime,
    late_rounds: dict[int, int] | None = None,
) -> list[int]:
    """Insert (merchant_id, transaction_id, case_id, data) rows in one statement; returns
    the ids of the rows that are new (a repeat for the same swipe and state is skipped).
    `late_rounds`: transaction id -> its late_round (a swipe late again is told again)."""
    if not items:
        return []
    rounds = late_rounds or {}
    # The sweeper leaves a new row to its own task for a while before taking over.
    sweep_at = now + timedelta(seconds=settings.NOTIFICATION_EMAIL_SWEEP_AFTER_SECONDS)
    inserted = rows_insert(
        Notification,
        ["merchant_id", "transaction_id", "case_id", "kind", "data", "created_at", "email_attempts",
         "email_last_error", "email_next_attempt_at", "late_round"],
        [(m, t, c, kind, data, now, 0, "", sweep_at, rounds.get(t, 0)) for m, t, c, data in items],
        on_conflict="ON CONFLICT (transaction_id, kind, late_round) WHERE transaction_id IS NOT NULL "
        "AND kind IN ('late', 'arrived') DO NOTHING",
        returning=["id"],
    )
    return [row[0] for row in inserted]


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
    elif notification.kind == Notification.Kind.RESCHEDULED:  # issue 10: one per rescheduling batch
        from settlement.deadline_texts import rescheduled_notification

        title, body = rescheduled_notification(data, tz=tz)
    elif notification.kind == Notification.Kind.HOLIDAY_PLAN:  # issue 10: before each holiday
        from settlement.deadline_texts import holiday_plan_notification

        title, body = holiday_plan_notification(data, tz=tz)
    else:
        from settlement.services.replies import case_update_render  # replies imports this module

        title, body = case_update_render(data, tz=tz) or (
            _("Update on your inquiry %(case)s") % facts, data.get("message", ""))
    return title, body


@dataclass
class SendReport:
    sent: int = 0
    failed: int = 0
    gave_up: int = 0

    def add(self, other: "SendReport") -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.gave_up += other.gave_up


def email_backoff(attempts: int) -> timedelta:
    """Wait after the `attempts`-th failed send: base, 2 x base, 4 x base ... up to the cap."""
    base = settings.NOTIFICATION_EMAIL_RETRY_BASE_SECONDS
    return timedelta(seconds=min(settings.NOTIFICATION_EMAIL_RETRY_MAX_SECONDS, base * 2 ** max(0, attempts - 1)))


def outbox_pending() -> QuerySet[Notification]:
    """Rows whose email is neither sent nor given up (index notification_email_due)."""
    return Notification.objects.filter(email_next_attempt_at__isnull=False)


def _claim(candidates: QuerySet[Notification], *, now: datetime, limit: int) -> list[int]:
    """Take up to `limit` rows: attempts + 1 and a lease, in one short transaction.
    Rows another sender has locked are skipped, not waited for."""
    with db_transaction.atomic():
        ids = list(
            candidates.select_for_update(skip_locked=True)
            .order_by("email_next_attempt_at", "id")
            .values_list("id", flat=True)[:limit]
        )
        if ids:
            Notification.objects.filter(id__in=ids).update(
                email_attempts=F("email_attempts") + 1,
                email_next_attempt_at=now + timedelta(seconds=settings.NOTIFICATION_EMAIL_LEASE_SECONDS),
            )
    return ids


def _send_claimed(notification_id: int, *, now: datetime) -> SendReport:
    report = _send_one(notification_id, now=now)
    for result in ("sent", "failed", "gave_up"):
        if getattr(report, result):
            metrics.EMAILS.labels(result).inc(getattr(report, result))
    return report


def _send_one(notification_id: int, *, now: datetime) -> SendReport:
    """Send one claimed row (no transaction open: no lock is held across SMTP)."""
    notification = Notification.objects.select_related("merchant").get(id=notification_id)
    attempts = notification.email_attempts
    unsent = Notification.objects.filter(id=notification_id, emailed_at__isnull=True, email_gave_up_at__isnull=True)
    still_ours = unsent.filter(email_attempts=attempts)  # no later claim overwritten
    merchant = notification.merchant
    if not merchant.contact_email:
        still_ours.update(email_gave_up_at=now, email_next_attempt_at=None,
                          email_last_error="the merchant has no contact email")
        return SendReport(gave_up=1)
    with translation.override(merchant.language):
        title, body = notification_render(notification)
    message = EmailMessage(
        title, body, settings.DEFAULT_FROM_EMAIL, [merchant.contact_email],
        headers={"Message-ID": f"<notification-{notification.id}@{DNS_NAME}>"},
    )
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - any failure is recorded on the row and retried
        error = f"{type(exc).__name__}: {exc}"[:500]
        if attempts >= settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS:
            still_ours.update(email_gave_up_at=now, email_next_attempt_at=None, email_last_error=error)
            log.error("email for notification %s given up after %s attempts: %s", notification_id, attempts, error)
            return SendReport(failed=1, gave_up=1)
        still_ours.update(email_next_attempt_at=now + email_backoff(attempts), email_last_error=error)
        log.warning("email for notification %s failed (attempt %s): %s", notification_id, attempts, error)
        return SendReport(failed=1)
    # Sent is sent, even if the lease ran out meanwhile.
    unsent.update(emailed_at=timezone.now(), email_next_attempt_at=None, email_last_error="")
    return SendReport(sent=1)


def notifications_send_emails(*, notification_ids: list[int], now: datetime | None = None) -> int:
    """The task queued after commit: email these new rows, each once, in its merchant's
    language. Rows a sender already tried are left to the sweeper. Returns the number sent."""
    report = SendReport()
    size = settings.NOTIFICATION_SWEEP_BATCH_SIZE
    # Claimed a batch at a time, so each batch is sent well inside its lease.
    for start in range(0, len(notification_ids), size):
        at = now or timezone.now()
        chunk = notification_ids[start:start + size]
        candidates = outbox_pending().filter(id__in=chunk, email_attempts=0)
        for notification_id in _claim(candidates, now=at, limit=len(chunk)):
            report.add(_send_claimed(notification_id, now=at))
    return report.sent


def notifications_sweep_emails(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int = 10
) -> SendReport:
    """The beat sweeper: send every row whose time has come (a retry after a failure, a
    lease that ran out, a new row whose task never ran), bounded per run."""
    batch_size = batch_size or settings.NOTIFICATION_SWEEP_BATCH_SIZE
    report = SendReport()
    for _batch in range(max_batches):
        at = now or timezone.now()
        ids = _claim(outbox_pending().filter(email_next_attempt_at__lte=at), now=at, limit=batch_size)
        for notification_id in ids:
            report.add(_send_claimed(notification_id, now=at))
        if len(ids) < batch_size:
            break
    return report
