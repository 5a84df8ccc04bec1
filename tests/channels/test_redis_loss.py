"""Redis lost under load (RELIABILITY.md, "Tests that prove it"): a Redis of our own is
killed with -9 while a real Celery worker (prefork, as in production) is polling a real
simulator process, stays down, and comes back empty on the same port. Everything that
was queued is gone; the beat's scan (`channels.tasks.poll_due_channels`) re-derives the
due work from `next_poll_at` in PostgreSQL, the worker consumes again (the heartbeat
probe round-trips) and every swipe reaches its final state with each simulator event
stored exactly once. Late-swipe emails whose Celery messages were queued behind the
polls are lost with Redis too; the outbox sweeper (`settlement.tasks.sweep_notification_emails`)
sends each of them once from its Notification row after Redis is back.
Only the processes started here are killed, by their pid."""

import email
import os
import shutil
import signal
import sys
import time
import uuid
from collections import Counter

import pytest
import redis
from django.db import connection
from django.utils import timezone

from channels.models import Channel, WorkerHeartbeat
from settlement.models import Notification, SettlementEvent, Transaction
from settlement.services.notifications import notifications_create
from tests.factories import MerchantFactory, TerminalFactory, make_transaction
from tests.proctree import alive, children, free_port_in
from tests.simproc import Proc, Simulator, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("redis-loss")]

SWIPES = 80
NOTIFIED = 12  # late emails whose task messages are queued behind the polls
BATCH = 8  # 10 poll batches, each answered after the simulator's 1 s latency
REDIS_PORTS = range(6390, 6400)
SIM_PORTS = range(9600, 9650)


class RedisServer(Proc):
    """`redis-server` on `port`, no persistence: killed, it comes back empty."""

    def __init__(self, port: int, generation: int):
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not on PATH: this test starts and kills a Redis of its own "
                        "(install Debian's redis-server; it is present wherever the suite's Redis runs)")
        self.port = port
        super().__init__([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                          "--daemonize", "no"], log_name=f"redis-{port}-{generation}")
        self.client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=2)

        def up():
            if self.popen.poll() is not None:
                raise RuntimeError("redis-server exited: " + self.output())
            try:
                return self.client.ping()
            except redis.RedisError:
                return False

        wait_for(up, timeout=10, interval=0.05, message=f"redis-server on {port}")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


class Worker(Proc):
    """`celery worker` with the production pool (prefork, 2 processes). stop() also ends
    the pool processes it forked, by their pid, if the warm shutdown left any behind."""

    def __init__(self, args, env):
        super().__init__(args, env=env, log_name="worker-redis-loss")
        self.forked: set[int] = set()

    def note_children(self) -> None:
        self.forked.update(children(self.pid))

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.note_children()
        super().stop()
        for pid in self.forked:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def send(url: str, name: str, args: list | None = None) -> None:
    """Publish a task to *our* Redis, as beat (or a web request) would."""
    from config.celery import app

    with app.connection_for_write(url) as conn:
        app.send_task(name, args=args or [], connection=conn)


@pytest.fixture
def procs(transactional_db, monkeypatch):
    """Processes started by the test, stopped (by recorded pid) whatever happens."""
    started: list[Proc] = []
    monkeypatch.setattr("tests.simproc.free_port", lambda: free_port_in(SIM_PORTS))
    yield started
    for proc in started:  # in list order: the worker first, then its Redis, then the rest
        proc.stop()


def sent_message_ids(folder) -> Counter:
    """Message-IDs of the emails the worker wrote with Django's file backend."""
    found = Counter()
    for path in folder.iterdir():
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                found[email.message_from_string(chunk.strip())["Message-ID"]] += 1
    return found


def test_redis_lost_under_load_due_work_is_rederived_and_nothing_is_lost(procs, tmp_path, settings):
    # given: 80 due swipes whose answers the simulator knows (1 s per status request)
    sim = Simulator(channel="acq-redis", extra=["--latency-ms", "1000"])
    procs.append(sim)
    merchant = MerchantFactory(channel__code=sim.channel, settlement_cycle="T1")
    sim.attach(merchant.channel_id, poll_interval_seconds=1)
    channel = Channel.objects.get(pk=merchant.channel_id)
    terminal = TerminalFactory(merchant=merchant)
    txns = [make_transaction(merchant=merchant, terminal=terminal, captured_at=timezone.now())
            for _ in range(SWIPES)]
    sim.inject(txns)
    wait_for(lambda: all(s["status"] == "credited" for s in sim.get("swipes")), message="simulated credits")
    Transaction.objects.update(next_poll_at=timezone.now())

    # ... late emails to send (the rows a late scan writes; their task messages come later),
    # which the sweeper may take over 3 s after they were written
    settings.NOTIFICATION_EMAIL_SWEEP_AFTER_SECONDS = 3
    notified = notifications_create(
        kind=Notification.Kind.LATE, now=timezone.now(),
        items=[(merchant.id, t.id, None, {"reference": t.reference, "amount": str(t.amount)})
               for t in txns[:NOTIFIED]],
    )
    mailbox = tmp_path / "mail"
    mailbox.mkdir()

    # ... a Redis of our own and a worker on it
    port = free_port_in(REDIS_PORTS)
    first = RedisServer(port, generation=1)
    procs.append(first)
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    hostname = f"redisloss-{uuid.uuid4().hex[:8]}@test"
    worker = Worker(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "2",
         "-n", hostname, "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO"],
        env={"DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
             "CELERY_BROKER_URL": first.url, "POLL_BATCH_SIZE": str(BATCH), "POLL_MAX_BATCHES": "1",
             "POLL_LEASE_SECONDS": "3", "POLL_READ_TIMEOUT": "5", "POLL_RETRY_BASE_DELAY": "0.05",
             "POLL_RETRY_MAX_DELAY": "0.2",
             "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend", "EMAIL_FILE_PATH": str(mailbox)},
    )
    procs.insert(0, worker)  # stopped first
    send(first.url, "channels.tasks.worker_heartbeat")
    wait_for(lambda: WorkerHeartbeat.objects.filter(name=hostname).exists(), timeout=20,
             message="the worker to take its first heartbeat probe: " + worker.output()[-2000:])
    worker.note_children()

    # when: under load (the beat's scan plus a backlog of polls queued in Redis) ...
    send(first.url, "channels.tasks.poll_due_channels")
    for _ in range(30):
        send(first.url, "channels.tasks.poll_channel", [channel.id])
    # ... the emails' tasks queued behind 30 polls of 1 s each: still in Redis when it dies
    for nid in notified:
        send(first.url, "settlement.tasks.send_notification_emails", [[nid]])
    polled = SettlementEvent.objects.filter(channel=channel).exclude(type="captured")
    wait_for(polled.exists, timeout=15, message="the first answers to be applied")
    queued = first.client.llen("celery")
    leased = Transaction.objects.filter(next_poll_at__gt=timezone.now()).exclude(status="credited").count()
    # ... Redis dies with -9 while polls are in flight, stays away, and comes back empty
    first.kill9()
    emailed_before_loss = Notification.objects.filter(emailed_at__isnull=False).count()
    time.sleep(2.5)
    assert worker.popen.poll() is None, "the worker must survive losing its broker: " + worker.output()[-3000:]
    restarted_at = timezone.now()
    second = RedisServer(port, generation=2)
    procs.insert(1, second)
    assert second.client.dbsize() == 0
    pending_at_restart = Transaction.objects.exclude(status="credited").count()
    assert queued > 0 and pending_at_restart > 0, (queued, pending_at_restart)
    assert emailed_before_loss == 0, "the email tasks were meant to be lost with Redis"

    # then: the worker consumes again (the probe round-trips through the new Redis) ...
    def probe():
        send(second.url, "channels.tasks.worker_heartbeat")
        return WorkerHeartbeat.objects.filter(name=hostname, beat_at__gt=restarted_at).exists()

    wait_for(probe, timeout=20, interval=1.0,
             message="the worker to consume from the restarted Redis: " + worker.output()[-3000:])

    # ... and the beat's scan re-derives the due work from next_poll_at in PostgreSQL
    def beat_tick():
        send(second.url, "channels.tasks.poll_due_channels")
        send(second.url, "settlement.tasks.sweep_notification_emails")
        return (not Transaction.objects.exclude(status="credited").exists()
                and not Notification.objects.filter(emailed_at__isnull=True).exists())

    wait_for(beat_tick, timeout=25, interval=1.0,
             message="every swipe credited and every email sent after the restart: " + worker.output()[-3000:])

    # nothing lost, nothing applied twice
    assert set(Transaction.objects.values_list("status", flat=True)) == {"credited"}
    assert set(Transaction.objects.values_list("next_poll_at", flat=True)) == {None}
    expected = Counter(e["event_id"] for e in sim.get("events"))
    stored = Counter(polled.values_list("event_id", flat=True))
    assert set(stored) == set(expected)
    assert set(stored.values()) == {1}
    # every lost email sent by the sweeper, each exactly once
    sent = sent_message_ids(mailbox)
    assert {m.split("@")[0] for m in sent} == {f"<notification-{nid}" for nid in notified}, sent
    assert set(sent.values()) == {1}, sent
    assert set(Notification.objects.values_list("email_attempts", flat=True)) == {1}
    print(f"queued in Redis when killed: {queued}; leased rows: {leased}; "
          f"swipes still pending at restart: {pending_at_restart}/{SWIPES}")
