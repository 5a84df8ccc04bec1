"""What /healthz and the staff health page report (issue 14 item 3). Each check is a
few indexed queries or one publish; only a database that does not answer makes the
app unusable (503), anything else is "degraded". No secrets, no merchant data."""

import json
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.models import OuterRef, Subquery
from django.utils import timezone

OK, DEGRADED, DOWN = "ok", "degraded", "down"
CACHE_KEY = "healthz:report"


def _seconds(schedule) -> float | None:
    """Interval of a beat entry in seconds; None for crontab-like schedules."""
    if isinstance(schedule, int | float):
        return float(schedule)
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    run_every = getattr(schedule, "run_every", None)
    return run_every.total_seconds() if isinstance(run_every, timedelta) else None


def _age(moment: datetime | None, now: datetime) -> float | None:
    return None if moment is None else round(max(0.0, (now - moment).total_seconds()), 1)


def check_database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return {"status": DOWN, "vendor": connection.vendor, "error": type(exc).__name__}
    return {"status": OK, "vendor": connection.vendor}


def check_broker() -> dict:
    """Publish a no-op task: the broker accepts writes (a worker runs it in no time)."""
    from channels.tasks import noop

    started = time.monotonic()
    try:
        noop.apply_async(expires=60, retry=False)
    except Exception as exc:  # noqa: BLE001 - any failure to publish is the answer
        return {"status": DEGRADED, "error": type(exc).__name__}
    return {"status": OK, "publish_ms": round((time.monotonic() - started) * 1000, 1)}


def check_worker(now: datetime) -> dict:
    from channels.models import WorkerHeartbeat

    interval = _seconds(settings.CELERY_BEAT_SCHEDULE["channels-worker-heartbeat"]["schedule"]) or 30.0
    latest = WorkerHeartbeat.objects.order_by("-beat_at").values_list("beat_at", flat=True).first()
    age = _age(latest, now)
    fresh = age is not None and age <= 2 * interval
    return {"status": OK if fresh else DEGRADED, "heartbeat_age_seconds": age, "max_age_seconds": 2 * interval}


def check_beat(now: datetime) -> dict:
    """Each periodic task of the schedule in code ran within 2 of its intervals
    (django-celery-beat's PeriodicTask.last_run_at, written after every send:
    CELERY_BEAT_SYNC_EVERY=1)."""
    from django_celery_beat.models import PeriodicTask

    rows = {
        name: (last_run_at, changed)
        for name, last_run_at, changed in PeriodicTask.objects.filter(
            name__in=list(settings.CELERY_BEAT_SCHEDULE)
        ).values_list("name", "last_run_at", "date_changed")
    }
    tasks, status = {}, OK
    for name, entry in sorted(settings.CELERY_BEAT_SCHEDULE.items()):
        interval = _seconds(entry["schedule"])
        if interval is None:
            continue
        last_run_at, changed = rows.get(name, (None, None))
        age = _age(last_run_at, now)
        # A task beat registered less than 2 intervals ago has not had its first turn yet.
        waiting = last_run_at is None and changed is not None and _age(changed, now) <= 2 * interval
        fresh = waiting or (age is not None and age <= 2 * interval)
        status = status if fresh else DEGRADED
        tasks[name] = {"status": OK if fresh else DEGRADED, "last_run_age_seconds": age, "interval_seconds": interval}
        if waiting:
            tasks[name]["first_run_pending"] = True
    return {"status": status, "tasks": tasks}


def check_late_scan(now: datetime) -> dict:
    """The oldest overdue swipe the late scan has not flagged yet (txn_overdue_unflagged)."""
    from settlement.lifecycle import NON_FINAL_STATUSES
    from settlement.models import Transaction

    oldest = (
        Transaction.objects.filter(status__in=NON_FINAL_STATUSES, delayed_since__isnull=True, overdue_at__lte=now)
        .order_by("overdue_at").values_list("overdue_at", flat=True).first()
    )
    lag = _age(oldest, now) or 0.0
    limit = 2 * (_seconds(settings.CELERY_BEAT_SCHEDULE["flag-delays"]["schedule"]) or 60.0)
    return {"status": OK if lag <= limit else DEGRADED, "lag_seconds": lag, "max_lag_seconds": limit}


def check_polls(now: datetime) -> dict:
    """Per channel: how long its oldest due row has waited (txn_next_poll_due, one
    index probe per channel), and the channel's own health from its poll results."""
    from channels.models import Channel
    from settlement.lifecycle import NON_FINAL_STATUSES
    from settlement.models import Transaction

    beat = _seconds(settings.CELERY_BEAT_SCHEDULE["channels-poll-due"]["schedule"]) or 5.0
    oldest_due = (
        Transaction.objects.filter(channel=OuterRef("pk"), status__in=NON_FINAL_STATUSES, next_poll_at__isnull=False)
        .order_by("next_poll_at").values("next_poll_at")[:1]
    )
    channels, status = {}, OK
    rows = (
        Channel.objects.exclude(poll_url="").annotate(oldest_due=Subquery(oldest_due)).order_by("code")
        .values("code", "poll_interval_seconds", "health", "oldest_due")
    )
    for row in rows:
        due = row["oldest_due"]
        lag = _age(due, now) if due is not None and due <= now else 0.0
        limit = 2 * max(float(row["poll_interval_seconds"]), beat)
        fresh = lag <= limit
        status = status if fresh else DEGRADED
        channels[row["code"]] = {"status": OK if fresh else DEGRADED, "lag_seconds": lag, "max_lag_seconds": limit,
                                 "channel_health": row["health"]}
    return {"status": status, "channels": channels}


def check_outbox(now: datetime) -> dict:
    """Emails not sent yet (notification_email_due), and those the sweeper should have
    taken by now (due more than 2 sweep intervals ago)."""
    from settlement.services.notifications import outbox_pending

    sweep = _seconds(settings.CELERY_BEAT_SCHEDULE["notifications-sweep"]["schedule"]) or 30.0
    pending = outbox_pending()
    overdue = pending.filter(email_next_attempt_at__lt=now - timedelta(seconds=2 * sweep))
    oldest = overdue.order_by("email_next_attempt_at").values_list("email_next_attempt_at", flat=True).first()
    count_overdue = overdue.count() if oldest is not None else 0
    return {"status": OK if oldest is None else DEGRADED, "pending": pending.count(), "overdue": count_overdue,
            "oldest_overdue_seconds": _age(oldest, now)}


def check_calendar(now: datetime) -> dict:
    """Next year's business calendar (from 1 November): informational, never degrades."""
    from channels.selectors import calendars_missing_next_year

    today = timezone.localdate(now)
    missing = calendars_missing_next_year(today=today)
    return {"status": "incomplete" if missing else "complete", "year": today.year + 1,
            "missing": [c.code for c in missing]}


def processes_state(now_ts: float | None = None) -> dict | None:
    """What `config/supervise.py` last wrote (make run only); None when not supervised."""
    path = settings.VAR_DIR / "processes.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    now_ts = now_ts or time.time()
    if now_ts - data.get("updated_at", 0) > 5 * data.get("write_seconds", 2.0):
        return {"status": DEGRADED, "supervisor": "not running", "processes": {}, "down": []}
    processes = {
        name: {"state": p["state"], "restarts": p["restarts"], "last_exit": p["last_exit"],
               "since_seconds": round(max(0.0, now_ts - p["since"]), 1)}
        for name, p in sorted(data.get("processes", {}).items())
    }
    down = [name for name, p in processes.items() if p["state"] != "up"]
    return {"status": DEGRADED if down else OK, "supervisor": "running", "processes": processes, "down": down}


def health_report(*, now: datetime | None = None, use_cache: bool = True) -> tuple[int, dict]:
    """(HTTP status, JSON body). The database is checked on every call; the rest is
    cached for HEALTHZ_CACHE_SECONDS so a scraper cannot turn /healthz into load."""
    now = now or timezone.now()
    database = check_database()
    checks: dict = {"database": database}
    processes = processes_state()
    if processes is not None:
        checks["processes"] = processes
    if database["status"] == DOWN:
        return 503, {"status": DOWN, "ok": False, "checked_at": now.isoformat(), "checks": checks}
    ttl = settings.HEALTHZ_CACHE_SECONDS
    rest = cache.get(CACHE_KEY) if use_cache and ttl > 0 else None
    if rest is None:
        rest = {
            "broker": check_broker(),
            "worker": check_worker(now),
            "beat": check_beat(now),
            "late_scan": check_late_scan(now),
            "polls": check_polls(now),
            "outbox": check_outbox(now),
            "calendar_next_year": check_calendar(now),
        }
        if use_cache and ttl > 0:
            cache.set(CACHE_KEY, rest, ttl)
    checks.update(rest)
    degraded = any(c["status"] == DEGRADED for c in checks.values())
    status = DEGRADED if degraded else OK
    return 200, {"status": status, "ok": True, "checked_at": now.isoformat(), "checks": checks}


_NESTED = {"beat": "tasks", "polls": "channels", "processes": "processes"}


def health_rows(body: dict) -> list[dict]:
    """The report flattened for the staff page: one row per check, sub-rows for the
    per-task / per-channel / per-process parts."""
    rows = []
    for name, check in body["checks"].items():
        nested = check.get(_NESTED.get(name, ""), {})
        facts = [(k, v) for k, v in check.items() if k != "status" and k != _NESTED.get(name)]
        items = [
            {"name": sub, "status": part.get("status", part.get("state", "")),
             "facts": [(k, v) for k, v in part.items() if k not in ("status", "state")]}
            for sub, part in nested.items()
        ]
        rows.append({"name": name, "status": check["status"], "facts": facts, "items": items})
    return rows
