"""Celery tasks: they take ids (or nothing), and call a service."""

from celery import shared_task
from django.db import transaction

from settlement.services.assignment import cases_auto_assign
from settlement.services.cases import cases_escalate_untouched
from settlement.services.delays import delays_flag, delays_mark_at_risk
from settlement.services.holiday_plans import holiday_plans_send
from settlement.services.notifications import notifications_send_emails, notifications_sweep_emails
from settlement.services.replies import cases_arrival_missed
from settlement.services.reschedule import recompute_pending


@shared_task(name="settlement.tasks.flag_delays")
def flag_delays() -> dict:
    """Every minute (CELERY_BEAT_SCHEDULE): flag, warn, escalate. Everything it needs is
    in PostgreSQL (overdue_at, at_risk_since, last_action_at), so a lost run or a second
    beat changes nothing: the next run finds the same rows, each handled once."""
    # A backlog (a whole day's swipes late at once) is shared: when the first batch is
    # full, one more run is queued so another worker joins in; each run is bounded.
    report = delays_flag(max_batches=20, on_full_batch=flag_delays.delay)
    at_risk = delays_mark_at_risk()  # after flagging: only swipes not late yet
    escalated = cases_escalate_untouched()
    missed = cases_arrival_missed()  # promised arrivals that passed: back to the top, merchant told once
    cases_auto_assign()  # new cases to agents on duty (STAFF_AUTO_ASSIGN, off by default)
    return {"at_risk": at_risk, "flagged": report.flagged, "cases": report.cases_opened, "escalated": escalated,
            "arrival_missed": missed}


@shared_task(name="settlement.tasks.send_notification_emails")
def send_notification_emails(notification_ids: list[int]) -> int:
    return notifications_send_emails(notification_ids=notification_ids)


@shared_task(name="settlement.tasks.pull_settlement_files")
def pull_settlement_files() -> dict:
    """Beat (RECON_PULL_BEAT_SECONDS): fetch the due settlement files; a full batch queues one more run."""
    from django.conf import settings

    from settlement.services.recon_pull import PULL_BATCH, pulls_run

    if not settings.RECON_PULL_ENABLED:
        return {}
    report = pulls_run()
    if report.fetched + report.waiting >= PULL_BATCH:
        pull_settlement_files.delay()
    return report.__dict__

@shared_task(name="settlement.tasks.sweep_notification_emails")
def sweep_notification_emails() -> dict:
    """Beat (CELERY_BEAT_SCHEDULE): the outbox's retries and lost messages, from the rows."""
    report = notifications_sweep_emails()
    return {"sent": report.sent, "failed": report.failed, "gave_up": report.gave_up}

@shared_task(name="settlement.tasks.recompute_deadlines")
def recompute_deadlines() -> dict:
    """Beat, and the doorbell rung after a calendar or channel-rule change: work the
    unfinished DeadlineRecompute rows in bounded batches; queue another run while work
    remains (never a loop inside one task)."""
    report = recompute_pending(max_batches=10)
    if report.notification_ids:
        ids = report.notification_ids
        transaction.on_commit(lambda: send_notification_emails.delay(ids))
    if report.more:
        transaction.on_commit(recompute_deadlines.delay)
    return {"looked_at": report.looked_at, "changed": report.changed, "unlated": report.unlated}


@shared_task(name="settlement.tasks.send_holiday_plans")
def send_holiday_plans() -> int:
    """Hourly: each active merchant's plan before a holiday period, once per merchant and
    holiday (a constraint), again marked as an update if the calendar changed it."""
    ids = holiday_plans_send()
    if ids:
        transaction.on_commit(lambda: send_notification_emails.delay(ids))
    return len(ids)
