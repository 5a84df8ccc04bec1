"""Polling against a real simulator process over HTTP (and, for the worker tests, real
Celery workers on Redis): answers go through the one door, claims never overlap, a
failing channel goes degraded then down and comes back, a killed worker loses nothing."""

import sys
import threading
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from channels.models import Channel
from channels.polling import PollFailed, status_query
from channels.services import channel_health_for, channel_record_poll
from settlement.lifecycle import LifecycleEvent, fold
from settlement.models import SettlementEvent, Transaction
from settlement.services.events import EventInput, events_apply
from settlement.services.polling import backoff, channel_poll, poll_claim
from tests.factories import MerchantFactory, TerminalFactory, make_transaction
from tests.simproc import Proc, Simulator, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("poll-workers")]


@pytest.fixture(autouse=True)
def _fast_http(settings):
    settings.POLL_CONNECT_TIMEOUT = 1.0
    settings.POLL_READ_TIMEOUT = 2.0
    settings.POLL_RETRY_BASE_DELAY = 0.01
    settings.POLL_RETRY_MAX_DELAY = 0.05


@pytest.fixture
def sim(request):
    marker = request.node.get_closest_marker("sim")
    kwargs = marker.kwargs if marker else {}
    proc = Simulator(channel="acq-poll", **kwargs)
    yield proc
    proc.stop()


def setup_swipes(sim, n: int, cycle: str = "T1", **merchant_fields):
    merchant = MerchantFactory(channel__code=sim.channel, settlement_cycle=cycle, **merchant_fields)
    sim.attach(merchant.channel_id, poll_interval_seconds=1)
    terminal = TerminalFactory(merchant=merchant)
    txns = [make_transaction(merchant=merchant, terminal=terminal, captured_at=timezone.now()) for _ in range(n)]
    sim.inject(txns)
    return merchant.channel, txns


def make_due():
    Transaction.objects.exclude(next_poll_at=None).update(next_poll_at=timezone.now())


def poll_until(channel, predicate, timeout=30.0):
    def step():
        make_due()
        channel_poll(channel_id=channel.id)
        return predicate()
    return wait_for(step, timeout=timeout, interval=0.2, message="polls to converge")


def assert_each_simulator_event_stored_once(sim, channel, *, all_of_them=True):
    expected = Counter(e["event_id"] for e in sim.get("events"))
    # the system's own events (the capture; a re-payment's new deadline) are not the acquirer's
    stored = Counter(SettlementEvent.objects.filter(channel=channel).exclude(type__in=["captured", "rescheduled"])
                     .values_list("event_id", flat=True))
    if all_of_them:
        assert set(stored) == set(expected)
    else:
        assert set(stored) <= set(expected)
    assert set(stored.values()) == {1}


@pytest.mark.django_db(transaction=True)
def test_normal_flow_reaches_credited_through_polling(sim):
    channel, txns = setup_swipes(sim, 12)
    poll_until(channel, lambda: not Transaction.objects.exclude(status="credited").exists())
    assert set(Transaction.objects.values_list("next_poll_at", flat=True)) == {None}  # nothing left to ask
    assert set(SettlementEvent.objects.exclude(type="captured").values_list("source", flat=True)) == {"poll"}
    assert_each_simulator_event_stored_once(sim, channel)
    channel.refresh_from_db()
    assert channel.health == "up" and channel.last_poll_ok_at


@pytest.mark.django_db(transaction=True)
@pytest.mark.sim(scenario="wrong_account", extra=["--merchant", "MBADACCT:T1"])
def test_wrong_account_credits_are_returned_then_repaid_and_end_credited(sim):
    channel, txns = setup_swipes(sim, 6, merchant_no="MBADACCT")
    poll_until(channel, lambda: not Transaction.objects.exclude(status="credited").exists())
    for txn in txns:
        kinds = list(SettlementEvent.objects.filter(transaction=txn).exclude(type="rescheduled")
                     .order_by("occurred_at").values_list("type", flat=True))
        assert kinds == ["captured", "cleared", "settled", "returned", "settled", "credited"]
        # a re-settlement learned before the credit moved the deadline once (a poll that
        # learns both at once finds the swipe final: nothing to reschedule)
        assert SettlementEvent.objects.filter(transaction=txn, type="rescheduled").count() <= 1
    assert_each_simulator_event_stored_once(sim, channel)


@pytest.mark.django_db(transaction=True)
def test_a_poll_with_nothing_new_backs_off(sim):
    channel, txns = setup_swipes(sim, 3)
    Transaction.objects.update(poll_attempts=3)
    sim_speed_slow = Transaction.objects.first()
    before = timezone.now()
    make_due()
    # An unknown reference learns nothing: its next poll is pushed out exponentially.
    Transaction.objects.filter(pk=sim_speed_slow.pk).update(reference="NOT-AT-ACQUIRER")
    channel_poll(channel_id=channel.id)
    row = Transaction.objects.get(pk=sim_speed_slow.pk)
    assert row.poll_attempts == 4
    assert row.next_poll_at >= before + timedelta(seconds=1 * 2**3 * 0.9)
    assert backoff(interval=60, attempts=50) <= timedelta(seconds=3600 * 1.1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.sim(scenario="channel_outage", extra=["--outage", "0:8", "--hang-seconds", "3"])
def test_an_outage_marks_the_channel_degraded_then_down_and_it_recovers(sim, settings):
    settings.POLL_HTTP_ATTEMPTS = 1
    settings.POLL_READ_TIMEOUT = 0.8
    channel, txns = setup_swipes(sim, 5)
    seen = []
    for _ in range(6):
        make_due()
        report = channel_poll(channel_id=channel.id)
        assert report.failed and report.error in {"http_503", "timeout"}
        channel.refresh_from_db()
        seen.append(channel.health)
    assert seen[0] == "up" and "degraded" in seen and seen[-1] == "down"
    assert channel.last_poll_error and channel.health_changed_at
    assert not SettlementEvent.objects.exclude(type="captured").exists()
    # After the window the same rows are polled again and nothing was lost.
    wait_for(lambda: not sim_in_outage(sim), timeout=15, message="end of outage")
    poll_until(channel, lambda: not Transaction.objects.exclude(status="credited").exists())
    channel.refresh_from_db()
    assert channel.health == "up" and channel.consecutive_poll_failures == 0
    assert_each_simulator_event_stored_once(sim, channel)


def sim_in_outage(sim) -> bool:
    try:
        status_query(url=sim.status_url, references=[], signing=sim.signing(), attempts=1, timeout=(1, 0.5))
        return False
    except PollFailed:
        return True


@pytest.mark.django_db(transaction=True)
@pytest.mark.sim(scenario="risk_holds", seed=3)
def test_duplicate_and_out_of_order_deliveries_converge_to_the_in_order_state(sim):
    channel, txns = setup_swipes(sim, 10)
    wait_for(lambda: all(s["status"] == "credited" for s in sim.get("swipes")), message="simulated credits")
    events = sim.get("events")

    def as_inputs(items):
        return [EventInput(event_id=e["event_id"], reference=e["reference"], type=e["type"],
                           occurred_at=timezone.datetime.fromisoformat(e["occurred_at"]),
                           payout_reference=e["payout_reference"], reason=e["reason"]) for e in items]

    # Half of the events are pushed newest first, twice; then polls (whose answers the
    # simulator shuffles and repeats); then every event is pushed again, newest first.
    half = as_inputs([e for i, e in enumerate(events) if i % 2 == 0][::-1])
    first = events_apply(channel=channel, events=half, source="push")
    again = events_apply(channel=channel, events=half, source="push")
    assert {r.result for r in first} <= {"applied", "stale"}
    assert {r.result for r in again} == {"duplicate"}
    poll_until(channel, lambda: not Transaction.objects.exclude(status="credited").exists())
    late = events_apply(channel=channel, events=as_inputs(events[::-1]), source="push")
    assert {r.result for r in late} <= {"duplicate", "stale"}
    assert_each_simulator_event_stored_once(sim, channel)
    for txn in Transaction.objects.all():
        in_order = fold(LifecycleEvent(e["type"], timezone.datetime.fromisoformat(e["occurred_at"]), e["event_id"])
                        for e in events if e["reference"] == txn.reference)
        assert txn.status == in_order.status == "credited"
        assert txn.settled_at == in_order.settled_at and txn.credited_at == in_order.credited_at


@pytest.mark.django_db(transaction=True)
@pytest.mark.sim(extra=["--latency-ms", "300"])
def test_two_pollers_never_poll_the_same_rows(sim, monkeypatch):
    channel, txns = setup_swipes(sim, 60)
    asked: dict[str, list[str]] = {}
    real_query = status_query

    def recording_query(*, url, references, **kw):
        asked.setdefault(threading.current_thread().name, []).extend(references)
        return real_query(url=url, references=references, **kw)

    monkeypatch.setattr("settlement.services.polling.status_query", recording_query)
    barrier = threading.Barrier(2)

    def poller():
        barrier.wait()
        try:
            channel_poll(channel_id=channel.id, batch_size=10, max_batches=10)
        finally:
            connection.close()

    threads = [threading.Thread(target=poller, name=f"poller-{i}") for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    a, b = asked.get("poller-0", []), asked.get("poller-1", [])
    assert a and b, "both pollers should have worked"
    assert not set(a) & set(b)
    assert sorted(a + b) == sorted(t.reference for t in txns)


@pytest.mark.django_db(transaction=True)
def test_a_claim_leases_rows_so_a_second_claim_skips_them(sim):
    channel, txns = setup_swipes(sim, 5)
    make_due()
    now = timezone.now()
    first = poll_claim(channel_id=channel.id, now=now, limit=3, lease=timedelta(minutes=2))
    second = poll_claim(channel_id=channel.id, now=now, limit=10, lease=timedelta(minutes=2))
    assert len(first) == 3 and len(second) == 2
    assert not {r.id for r in first} & {r.id for r in second}
    assert poll_claim(channel_id=channel.id, now=now, limit=10, lease=timedelta(minutes=2)) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.sim(extra=["--latency-ms", "3000"])
def test_a_worker_killed_mid_poll_loses_nothing_and_applies_nothing_twice(sim, settings):
    # given: due swipes whose answers are slow, and a real worker on Redis
    channel, txns = setup_swipes(sim, 20)
    wait_for(lambda: all(s["status"] == "credited" for s in sim.get("swipes")), message="simulated credits")
    make_due()
    db = settings.DATABASES["default"]
    env = {
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "POLL_LEASE_SECONDS": "4",
        "POLL_BATCH_SIZE": "10",
    }
    queue = f"test-poll-{uuid.uuid4().hex[:8]}"
    worker_args = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-Q", queue,
                   "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"]
    from channels.tasks import poll_channel

    first = Proc(worker_args, env=env, log_name="worker-a")
    try:
        poll_channel.apply_async(args=[channel.id], queue=queue)
        # when: it has claimed a batch and is waiting for the answer, kill -9 it
        wait_for(lambda: Transaction.objects.filter(next_poll_at__gt=timezone.now() + timedelta(seconds=1)).exists(),
                 timeout=30, message="the first worker to claim a batch")
        time.sleep(0.5)
        first.kill9()
    finally:
        first.stop()
    assert not SettlementEvent.objects.exclude(type="captured").exists(), "killed before applying anything"

    # then: a second worker, fed by what beat would enqueue, finishes the job once
    second = Proc(worker_args, env=env, log_name="worker-b")
    try:
        def nudge():
            poll_channel.apply_async(args=[channel.id], queue=queue)
            return not Transaction.objects.exclude(status="credited").exists()
        wait_for(nudge, timeout=60, interval=2.0, message="the second worker to finish")
    finally:
        second.stop()
        _forget_queue(queue)
    assert_each_simulator_event_stored_once(sim, channel)


def _forget_queue(queue: str) -> None:
    """The killed worker's message waits in Redis for the visibility timeout (an hour);
    nothing consumes this test's queue, so remove it rather than leave it to others."""
    import json

    import redis
    from django.conf import settings as django_settings

    r = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    for tag, raw in r.hgetall("unacked").items():
        if json.loads(raw)[2] == queue:
            r.hdel("unacked", tag)
            r.zrem("unacked_index", tag)
    r.delete(queue)


def test_health_moves_up_degraded_down_and_back(settings, db):
    settings.CHANNEL_DEGRADED_AFTER, settings.CHANNEL_DOWN_AFTER = 2, 4
    assert [channel_health_for(failures=n, current="up") for n in range(5)] == \
        ["up", "up", "degraded", "degraded", "down"]
    merchant = MerchantFactory()
    path = [channel_record_poll(channel_id=merchant.channel_id, ok=False, error="timeout") for _ in range(4)]
    assert path == ["up", "degraded", "degraded", "down"]
    assert channel_record_poll(channel_id=merchant.channel_id, ok=True) == "up"


def test_beat_enqueues_one_poll_per_due_channel_per_interval(db, django_capture_on_commit_callbacks, monkeypatch):
    from channels.tasks import poll_due_channels

    sent = []
    monkeypatch.setattr("channels.tasks.poll_channel.delay", lambda cid: sent.append(cid))
    polled = MerchantFactory()
    Channel.objects.filter(pk=polled.channel_id).update(poll_url="http://127.0.0.1:9/x/status",
                                                        poll_interval_seconds=60)
    make_transaction(merchant=polled)  # due at once
    make_transaction(merchant=MerchantFactory())  # its channel has no poll URL
    with django_capture_on_commit_callbacks(execute=True):
        assert poll_due_channels() == 1
        assert poll_due_channels() == 0  # within the interval: not again
    assert sent == [polled.channel_id]


def test_celery_reliability_settings_reach_the_worker_app():
    from config.celery import app

    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.worker_cancel_long_running_tasks_on_connection_loss
    assert {"channels-poll-due", "channels-worker-heartbeat"} <= set(conf.beat_schedule)
    with app.connection_for_write() as conn:
        if conn.transport_cls == "redis" or conn.transport.driver_type == "redis":
            assert conn.default_channel.visibility_timeout == 3600
            assert conf.result_backend_transport_options["visibility_timeout"] == 3600
        else:  # the embedded broker keeps every folder under var/, none in the working directory
            assert all("var" in str(v) for k, v in conf.broker_transport_options.items() if k.endswith("folder"))


@pytest.mark.django_db
def test_a_polled_repeat_is_dropped_but_a_changed_body_is_refused(monkeypatch):
    from channels.polling import PollAnswer
    from tests.factories import push

    merchant = MerchantFactory()
    Channel.objects.filter(pk=merchant.channel_id).update(poll_url="http://127.0.0.1:9/x/status")
    txn = make_transaction(merchant=merchant)
    at = timezone.now() - timedelta(minutes=30)
    push(txn, "cleared", at, event_id="E1")
    answer = [{"event_id": "E1", "type": "cleared", "occurred_at": at.isoformat()},
              {"event_id": "E2", "type": "settled", "occurred_at": (at + timedelta(minutes=5)).isoformat()}]
    monkeypatch.setattr("settlement.services.polling.status_query",
                        lambda **kw: {txn.reference: PollAnswer(txn.reference, True, answer)})
    make_due()
    report = channel_poll(channel_id=merchant.channel_id)
    assert (report.applied, report.duplicate, report.rejected) == (1, 1, 0)
    answer[0] = {"event_id": "E1", "type": "cleared", "occurred_at": (at - timedelta(hours=1)).isoformat()}
    make_due()
    report = channel_poll(channel_id=merchant.channel_id)
    assert (report.applied, report.duplicate, report.rejected) == (0, 1, 1)
    assert SettlementEvent.objects.get(event_id="E1").occurred_at == at


def test_the_heartbeat_probe_writes_a_row_per_worker(db):
    from channels.models import WorkerHeartbeat
    from channels.tasks import worker_heartbeat

    worker_heartbeat.apply()
    worker_heartbeat.apply()
    beat = WorkerHeartbeat.objects.get()
    assert timezone.now() - beat.beat_at < timedelta(seconds=5)
