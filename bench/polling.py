"""Polling throughput: transactions polled and applied per second against the simulated
acquirer (0 ms and 50 ms added latency), next to the Celery no-op task rate measured in
the same run on the same broker. Goal (issue 4): >= 5x the no-op rate, by batching.

    CELERY_BROKER_URL=redis://127.0.0.1:6379/12 python -m bench.polling [--rows 3000] [--runs 3]

Uses its own PostgreSQL database (bench_poll, created and dropped here) and starts its
own simulator and Celery workers (solo pool, one process each), stopped by pid.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import requests

ROOT = Path(__file__).resolve().parent.parent
PG = dict(host="127.0.0.1", port=5432, user="postgres")
DB_NAME = os.environ.get("BENCH_POLL_DB", "bench_poll")
BROKER = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/12")
if not BROKER.startswith("redis://"):
    BROKER = "redis://127.0.0.1:6379/12"
DB_URL = f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{DB_NAME}"
# BENCH_POLL_PORTS="9360,9361": the two simulators' ports (0 ms and 50 ms latency).
SIM_PORTS = dict(zip((0, 50), map(int, os.environ.get("BENCH_POLL_PORTS", "9290,9291").split(",")), strict=True))
BATCH = 500
ENV = {**os.environ, "DATABASE_URL": DB_URL, "CELERY_BROKER_URL": BROKER, "POLL_BATCH_SIZE": str(BATCH),
       "POLL_MAX_BATCHES": "1000", "LOG_LEVEL": "WARNING"}


def admin_sql(sql: str) -> None:
    conn = psycopg2.connect(dbname="postgres", **PG)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def start(args: list[str], name: str) -> subprocess.Popen:
    log = open(ROOT / "var" / f"bench-{name}.log", "w")  # noqa: SIM115
    return subprocess.Popen(args, cwd=ROOT, env=ENV, stdout=log, stderr=subprocess.STDOUT)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def worker(queue: str, name: str) -> subprocess.Popen:
    return start([sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "-Q", queue, "-n",
                  f"{name}@bench", "--without-gossip", "--without-mingle", "--without-heartbeat",
                  "--loglevel", "WARNING"], name)


def noop_rate(n: int) -> float:
    """Fill a queue with n no-op tasks, then time one solo worker draining it."""
    import redis

    from channels.tasks import noop

    queue = f"bench-noop-{os.getpid()}"
    r = redis.Redis.from_url(BROKER)
    r.delete(queue)
    unacked_before = r.hlen("unacked")  # other runs' leftovers (e.g. a worker killed by a test)
    for _ in range(n):
        noop.apply_async(queue=queue)
    proc = worker(queue, "noop")
    try:
        while r.llen(queue) >= n:
            time.sleep(0.005)
        t0 = time.perf_counter()
        while r.llen(queue) > 0 or r.hlen("unacked") > unacked_before:
            time.sleep(0.005)
        return (n - 1) / (time.perf_counter() - t0)
    finally:
        stop(proc)
        r.delete(queue)


def setup_rows(rows: int) -> tuple[int, list[str], list[str]]:
    from django.db import connection

    from channels.services import channel_create
    from merchants.models import Merchant

    channel, secret = channel_create(code="bench", name="Bench acquirer", poll_interval_seconds=1)
    merchant = Merchant.objects.create(merchant_no="B000001", name="Bench shop", channel=channel,
                                       settlement_cycle="T1", fee_rate_bps=60)
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO settlement_transaction (channel_id, reference, merchant_id, amount, fee, net, currency,
                 masked_pan, method, captured_at, status, resume_status, business_date, expected_by, overdue_at,
                 calendar_incomplete, next_poll_at, poll_attempts, created_at, updated_at)
               SELECT %s, 'B' || lpad(g::text, 9, '0'), %s, 100.00, 0.60, 99.40, 'CNY', '622202******1234', 'chip',
                 now() - interval '2 hours', 'captured', '', current_date, now() + interval '1 day',
                 now() + interval '1 day 2 hours', false, now(), 0, now(), now()
               FROM generate_series(1, %s) g""",
            [channel.id, merchant.id, rows],
        )
        cur.execute("SELECT reference FROM settlement_transaction WHERE channel_id = %s", [channel.id])
        refs = [r for (r,) in cur.fetchall()]
    # The simulator signs its answers and checks our signed queries with the channel's secrets.
    return channel.id, refs, ["--secret", secret, "--poll-secret", channel.poll_secret]


def reset_rows(channel_id: int, poll_url: str, *, steady: bool) -> None:
    """cold: every row captured, a poll learns 3 events per row. steady: every row
    settled (its earlier events known), a poll learns 1 new event per row: what a
    poll on an interval usually finds."""
    from django.db import connection

    with connection.cursor() as cur:
        if steady:
            cur.execute("DELETE FROM settlement_settlementevent WHERE channel_id = %s AND type = 'credited'",
                        [channel_id])
            cur.execute("""UPDATE settlement_transaction SET status='settled', credited_at=NULL, payout_id=NULL,
                           next_poll_at=now(), poll_attempts=0 WHERE channel_id = %s""", [channel_id])
        else:
            cur.execute("DELETE FROM settlement_settlementevent WHERE channel_id = %s", [channel_id])
            cur.execute("""UPDATE settlement_transaction SET status='captured', resume_status='', settled_at=NULL,
                           credited_at=NULL, last_event_at=NULL, payout_id=NULL, next_poll_at=now(),
                           poll_attempts=0 WHERE channel_id = %s""", [channel_id])
        cur.execute("UPDATE channels_channel SET poll_url=%s WHERE id=%s", [poll_url, channel_id])


def prime_steady(channel_id: int, port: int) -> None:
    """Apply every event but the credit, through the one door, as pushes would have."""
    from datetime import datetime

    from channels.models import Channel
    from settlement.services.events import EventInput, events_apply

    channel = Channel.objects.get(pk=channel_id)
    events = requests.get(f"http://127.0.0.1:{port}/bench/events", timeout=60).json()["events"]
    inputs = [EventInput(e["event_id"], e["reference"], e["type"], datetime.fromisoformat(e["occurred_at"]),
                         e["payout_reference"], e["reason"]) for e in events if e["type"] != "credited"]
    for i in range(0, len(inputs), 1000):
        events_apply(channel=channel, events=inputs[i:i + 1000], source="push")


def poll_rate(channel_id: int, rows: int, latency_ms: int, *, steady: bool) -> float:
    """One solo worker runs poll_channel (which re-enqueues itself while batches are full)
    until every row is credited; rows per second from enqueue to the last credit."""
    from django.db import connection

    from channels.tasks import poll_channel

    queue = f"bench-poll-{os.getpid()}"
    reset_rows(channel_id, f"http://127.0.0.1:{SIM_PORTS[latency_ms]}/bench/status", steady=steady)
    proc = worker(queue, "poll")
    try:
        # Worker start-up is not what we measure: wait until it has consumed a no-op.
        import redis

        from channels.tasks import noop

        r = redis.Redis.from_url(BROKER)
        noop.apply_async(queue=queue)
        while r.llen(queue):
            time.sleep(0.01)
        t0 = time.perf_counter()
        poll_channel.apply_async(args=[channel_id], queue=queue)
        # The task re-enqueues itself through the default route; send the follow-ups here too.
        while True:
            with connection.cursor() as cur:
                cur.execute("SELECT count(*) FROM settlement_transaction WHERE channel_id=%s AND status <> 'credited'",
                            [channel_id])
                left = cur.fetchone()[0]
            if left == 0:
                return rows / (time.perf_counter() - t0)
            time.sleep(0.02)
    finally:
        stop(proc)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--noop-tasks", type=int, default=2000)
    args = parser.parse_args()
    (ROOT / "var").mkdir(exist_ok=True)
    admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME}")
    admin_sql(f"CREATE DATABASE {DB_NAME}")
    os.environ.update(DATABASE_URL=DB_URL, CELERY_BROKER_URL=BROKER, CELERY_TASK_DEFAULT_QUEUE=f"bench-poll-{os.getpid()}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    ENV["CELERY_TASK_DEFAULT_QUEUE"] = os.environ["CELERY_TASK_DEFAULT_QUEUE"]
    sims = []
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=ENV, check=True)
        import django

        django.setup()
        from django.conf import settings

        settings.CELERY_TASK_DEFAULT_QUEUE = os.environ["CELERY_TASK_DEFAULT_QUEUE"]
        from config.celery import app

        app.conf.task_default_queue = os.environ["CELERY_TASK_DEFAULT_QUEUE"]
        channel_id, refs, sim_secrets = setup_rows(args.rows)
        for latency, port in SIM_PORTS.items():
            sims.append(start([sys.executable, "manage.py", "simulate_acquirer", "--channel", "bench", "--port",
                               str(port), "--speed", "10000000", "--rate", "0", "--state", ":memory:",
                               "--latency-ms", str(latency), "--merchant", "B000001:T1", *sim_secrets],
                              f"sim-{latency}"))
        for port in SIM_PORTS.values():
            for _ in range(200):
                try:
                    requests.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
                    break
                except requests.RequestException:
                    time.sleep(0.1)
            for i in range(0, len(refs), 1000):
                swipes = [{"reference": r, "merchant_no": "B000001", "amount": "100.00",
                           "captured_at": "2020-01-01T00:00:00+00:00"} for r in refs[i:i + 1000]]
                requests.post(f"http://127.0.0.1:{port}/bench/swipes", json={"swipes": swipes}, timeout=60)

        noop_rate(200)  # warm-up
        noops = [noop_rate(args.noop_tasks) for _ in range(args.runs)]
        poll_rate(channel_id, args.rows, 0, steady=False)  # warm-up
        figures = {("cold", 0): [poll_rate(channel_id, args.rows, 0, steady=False) for _ in range(args.runs)]}
        for lat in SIM_PORTS:  # each simulator has its own event times: prime from the one polled
            reset_rows(channel_id, "", steady=False)
            prime_steady(channel_id, SIM_PORTS[lat])
            figures[("steady", lat)] = [poll_rate(channel_id, args.rows, lat, steady=True) for _ in range(args.runs)]
        noop = statistics.median(noops)
        print(f"command: CELERY_BROKER_URL={BROKER} python -m bench.polling --rows {args.rows} --runs {args.runs}")
        print(f"celery no-op tasks/s (solo worker, median of {args.runs}): {noop:.0f}  runs={[round(x) for x in noops]}")
        for (kind, lat), values in figures.items():
            rate = statistics.median(values)
            learns = "1 new event/row" if kind == "steady" else "3 new events/row"
            print(f"polled+applied txns/s, {kind} ({learns}), {lat} ms latency, batch {BATCH} (median of "
                  f"{args.runs}): {rate:.0f}  runs={[round(x) for x in values]}  ratio to no-op: {rate / noop:.1f}x"
                  " (goal >= 5x)")
    finally:
        for proc in sims:
            stop(proc)
        from django.db import connections

        connections.close_all()
        admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


if __name__ == "__main__":
    main()
