"""/healthz and the staff health page (issue 14 item 3): database, broker, worker,
beat, late-scan lag, poll lag per channel, outbox backlog, next year's calendar and,
under `make run`, which process is down. 503 only when the database is down."""

import json
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import OperationalError, connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from channels.models import Channel, WorkerHeartbeat
from config.health import health_report
from settlement.models import Notification, Transaction
from settlement.services.notifications import notifications_create
from tests.factories import MerchantFactory, make_transaction

pytestmark = pytest.mark.django_db
CHECKS = {"database", "broker", "worker", "beat", "late_scan", "polls", "outbox", "calendar_next_year"}


@pytest.fixture(autouse=True)
def _no_cache_and_no_supervisor(settings, tmp_path):
    settings.HEALTHZ_CACHE_SECONDS = 0
    settings.VAR_DIR = tmp_path  # no processes.json unless a test writes one


@pytest.fixture
def published(monkeypatch):
    """The broker check's publishes, recorded instead of sent."""
    from channels.tasks import noop

    calls = []
    monkeypatch.setattr(noop, "apply_async", lambda **kw: calls.append(kw))
    return calls


def all_fresh(now: datetime) -> None:
    WorkerHeartbeat.objects.create(name="worker@test", beat_at=now - timedelta(seconds=5))
    for name, entry in django_settings.CELERY_BEAT_SCHEDULE.items():
        every, _ = IntervalSchedule.objects.get_or_create(every=max(1, int(entry["schedule"])), period="seconds")
        PeriodicTask.objects.create(name=name, task=entry["task"], interval=every, last_run_at=now - timedelta(seconds=1))


def test_healthz_is_ok_when_everything_is_fresh(client, published):
    all_fresh(timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["ok"] is True
    assert set(body["checks"]) == CHECKS
    assert all(c["status"] in ("ok", "complete") for c in body["checks"].values()), body
    assert published and published[0]["retry"] is False
    # no secrets: no connection strings, keys or signing secrets
    text = response.content.decode()
    for secret in ("postgres://", "redis://", "whsec_", django_settings.SECRET_KEY):
        assert secret not in text


def test_a_stale_worker_heartbeat_is_degraded_not_down(client, published):
    now = timezone.now()
    all_fresh(now)
    WorkerHeartbeat.objects.update(beat_at=now - timedelta(seconds=61))  # 2 x 30 s
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded" and body["checks"]["worker"]["status"] == "degraded"
    assert body["checks"]["worker"]["heartbeat_age_seconds"] >= 61


def test_no_worker_ever_is_degraded(published):
    status, body = health_report()
    assert status == 200 and body["checks"]["worker"] == {
        "status": "degraded", "heartbeat_age_seconds": None, "max_age_seconds": 60.0}


def test_beat_reports_each_periodic_task_against_twice_its_interval(published):
    now = timezone.now()
    all_fresh(now)
    PeriodicTask.objects.filter(name="flag-delays").update(last_run_at=now - timedelta(seconds=121))
    PeriodicTask.objects.filter(name="channels-poll-due").update(last_run_at=now - timedelta(seconds=9))
    _, body = health_report(now=now)
    beat = body["checks"]["beat"]
    assert beat["status"] == "degraded"
    assert beat["tasks"]["flag-delays"]["status"] == "degraded"
    assert beat["tasks"]["channels-poll-due"]["status"] == "ok"  # 9 s < 2 x 5 s
    assert beat["tasks"]["notifications-sweep"]["status"] == "ok"
    # beat registered it just now and its first turn has not come: not a failure yet
    PeriodicTask.objects.filter(name="flag-delays").update(last_run_at=None, date_changed=now - timedelta(seconds=30))
    _, body = health_report(now=now)
    assert body["checks"]["beat"]["tasks"]["flag-delays"] == {
        "status": "ok", "last_run_age_seconds": None, "interval_seconds": 60.0, "first_run_pending": True}
    # ... registered long ago and never run, or not registered at all: degraded
    PeriodicTask.objects.filter(name="flag-delays").update(date_changed=now - timedelta(seconds=121))
    _, body = health_report(now=now)
    assert body["checks"]["beat"]["tasks"]["flag-delays"]["status"] == "degraded"
    PeriodicTask.objects.filter(name="flag-delays").delete()
    _, body = health_report(now=now)
    assert body["checks"]["beat"]["tasks"]["flag-delays"]["last_run_age_seconds"] is None
    assert body["checks"]["beat"]["status"] == "degraded"


def test_beat_writes_last_run_after_every_send():
    assert django_settings.CELERY_BEAT_SYNC_EVERY == 1


def test_late_scan_lag_is_the_oldest_unflagged_overdue_swipe(published):
    now = timezone.now()
    all_fresh(now)
    txn = make_transaction(merchant=MerchantFactory())
    Transaction.objects.filter(pk=txn.pk).update(expected_by=now - timedelta(minutes=20),
                                                 overdue_at=now - timedelta(minutes=10))
    _, body = health_report(now=now)
    assert body["checks"]["late_scan"] == {"status": "degraded", "lag_seconds": 600.0, "max_lag_seconds": 120.0}
    Transaction.objects.filter(pk=txn.pk).update(delayed_since=now)  # the scan flagged it
    _, body = health_report(now=now)
    assert body["checks"]["late_scan"]["status"] == "ok" and body["checks"]["late_scan"]["lag_seconds"] == 0.0


def test_poll_lag_per_channel(published):
    now = timezone.now()
    all_fresh(now)
    late, fine = MerchantFactory(), MerchantFactory()
    Channel.objects.filter(pk__in=[late.channel_id, fine.channel_id]).update(
        poll_url="http://127.0.0.1:9/status", poll_interval_seconds=60)
    waiting = make_transaction(merchant=late)
    Transaction.objects.filter(pk=waiting.pk).update(next_poll_at=now - timedelta(seconds=300))
    soon = make_transaction(merchant=fine)
    Transaction.objects.filter(pk=soon.pk).update(next_poll_at=now + timedelta(seconds=30))
    _, body = health_report(now=now)
    polls = body["checks"]["polls"]
    assert polls["status"] == "degraded"
    assert polls["channels"][late.channel.code] == {
        "status": "degraded", "lag_seconds": 300.0, "max_lag_seconds": 120.0, "channel_health": "up"}
    assert polls["channels"][fine.channel.code]["status"] == "ok"
    assert polls["channels"][fine.channel.code]["lag_seconds"] == 0.0


def test_outbox_backlog_and_what_the_sweeper_should_have_taken(published):
    now = timezone.now()
    all_fresh(now)
    merchant = MerchantFactory()
    txns = [make_transaction(merchant=merchant) for _ in range(3)]
    ids = notifications_create(kind=Notification.Kind.LATE, now=now,
                               items=[(merchant.id, t.id, None, {}) for t in txns])
    _, body = health_report(now=now)
    assert body["checks"]["outbox"] == {"status": "ok", "pending": 3, "overdue": 0, "oldest_overdue_seconds": None}
    Notification.objects.filter(pk=ids[0]).update(email_next_attempt_at=now - timedelta(seconds=90))  # > 2 x 30 s
    _, body = health_report(now=now)
    assert body["checks"]["outbox"] == {"status": "degraded", "pending": 3, "overdue": 1,
                                        "oldest_overdue_seconds": 90.0}


def test_next_years_calendar_incomplete_is_reported_and_still_200(client, published):
    MerchantFactory()  # a channel on the China calendar, next year not marked complete
    with time_machine.travel(datetime(2026, 11, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))):
        all_fresh(timezone.now())
        response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["calendar_next_year"] == {"status": "incomplete", "year": 2027, "missing": ["CN"]}
    assert body["status"] == "ok"  # informational: it never degrades the app


def test_database_down_is_503(client, monkeypatch, published):
    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and body["ok"] is False
    assert body["checks"]["database"]["status"] == "down"
    assert body["checks"]["database"]["error"] == "OperationalError"
    assert "connection refused" not in response.content.decode()
    assert published == []


def test_broker_down_is_degraded(client, monkeypatch):
    from kombu.exceptions import OperationalError as BrokerError

    from channels.tasks import noop

    def refuse(**kwargs):
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379")

    monkeypatch.setattr(noop, "apply_async", refuse)
    all_fresh(timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"] == {"status": "degraded", "error": "OperationalError"}


def test_broker_publish_is_real(settings):
    # the suite's broker (Redis) takes the no-op task
    _, body = health_report()
    assert body["checks"]["broker"]["status"] == "ok", body["checks"]["broker"]
    assert body["checks"]["broker"]["publish_ms"] >= 0


def test_the_rest_is_cached_between_scrapes(settings, published):
    settings.HEALTHZ_CACHE_SECONDS = 30
    from django.core.cache import cache

    cache.delete("healthz:report")
    health_report()
    health_report()
    assert len(published) == 1
    cache.delete("healthz:report")


def write_processes(folder, *, worker_state: str, updated_at: float | None = None) -> None:
    now = time.time()
    processes = {name: {"state": "up", "pid": 10 + i, "restarts": 0, "last_exit": None, "since": now - 100,
                        "next_start": None} for i, name in enumerate(["web", "worker", "beat", "simulator"])}
    processes["worker"].update(state=worker_state, pid=None, restarts=2, last_exit=-9, since=now - 3)
    (folder / "processes.json").write_text(json.dumps(
        {"supervisor_pid": 1, "started_at": now - 100, "updated_at": updated_at or now, "write_seconds": 2.0,
         "processes": processes}))


def test_a_process_down_under_make_run_shows_on_healthz_and_the_home_page(client, settings, tmp_path, published):
    all_fresh(timezone.now())
    write_processes(tmp_path, worker_state="down")
    body = client.get("/healthz").json()
    assert body["status"] == "degraded"
    assert body["checks"]["processes"]["down"] == ["worker"]
    assert body["checks"]["processes"]["processes"]["worker"]["last_exit"] == -9
    home = client.get("/").content.decode()
    assert 'id="processes-down"' in home and "<strong>worker</strong>" in home
    # back up: no alert
    write_processes(tmp_path, worker_state="up")
    assert client.get("/healthz").json()["status"] == "ok"
    assert 'id="processes-down"' not in client.get("/").content.decode()


def test_a_supervisor_that_stopped_writing_is_reported(settings, tmp_path, published):
    write_processes(tmp_path, worker_state="up", updated_at=time.time() - 60)
    _, body = health_report()
    assert body["checks"]["processes"] == {"status": "degraded", "supervisor": "not running", "processes": {},
                                           "down": []}


def test_not_supervised_means_no_processes_check(published):
    _, body = health_report()
    assert "processes" not in body["checks"]


def test_the_staff_health_page_shows_the_same_checks(client, staff_user, merchant_user, published):
    all_fresh(timezone.now())
    assert client.get("/staff/health/").status_code == 302  # anonymous: to the login page
    client.force_login(merchant_user)
    assert client.get("/staff/health/").status_code == 403
    client.force_login(staff_user)
    response = client.get("/staff/health/")
    assert response.status_code == 200
    page = response.content.decode()
    for name in CHECKS:
        assert f'id="check-{name}"' in page
    assert 'id="health-status">ok<' in page
    assert "notifications-sweep" in page  # per-task rows of the beat check
    assert "<script>" not in page and " style=" not in page
