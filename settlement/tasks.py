"""Celery tasks: they take ids (or nothing), and call a service."""

from celery import shared_task

from settlement.services.assignment import cases_auto_assign
from settlement.services.cases import cases_escalate_untouched
from settlement.services.delays import delays_flag, delays_mark_at_risk
from settlement.services.notifications import notifications_send_emails
from settlement.services.replies import cases_arrival_missed


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
