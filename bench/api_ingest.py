"""Acquirer API ingest benchmark (issue 3).

    python -m bench.api_ingest            # or: make bench

Creates its own database (bench_api, on the server of DATABASE_URL), measures the
calibration baselines and then the API through gunicorn (2 workers, as Procfile.dev),
prints every figure with its ratio to its baseline, and drops the database.

  C_copy   COPY rows/s into the settlement event table, with its indexes
  C_tps    pgbench TPC-B-like tps, 2 clients
  C_view   a plain Django JSON view (/healthz) req/s, 8 clients, same gunicorn
  batch    events applied/s, 500 events per signed request (4 cl.) goal >= 0.10 x C_copy
  single   one event per signed request, 8 clients: req/s        goal >= 0.12 x C_tps
           and p99 latency                                       goal <= 25 ms
  replay   an already-ingested batch again: events/s, new rows   goal >= 1.0 x batch, 0 rows
Each figure is the median of 3 runs after a warm-up.
"""

import io
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import requests

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = os.environ.get("BENCH_DB", "bench_api")
PORTS = range(9350, 9400)
RUNS = 3
BATCH = 500
BATCH_REQUESTS = 16  # per run: 8,000 events
SINGLE_REQUESTS = 1500  # per run
CLIENTS = 8
BATCH_CLIENTS = 4  # 2 workers x 4 threads: overlap one batch's database wait with another's CPU
GUNICORN_LOG = Path(os.environ.get("TMPDIR", "/tmp")) / "bench_api_gunicorn.log"
COMMAND = "python -m bench.api_ingest"

_server = urlparse(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
if not _server.scheme.startswith("postgres"):
    sys.exit("bench.api_ingest needs PostgreSQL: set DATABASE_URL=postgres://...")
ADMIN_URL = urlunparse(_server._replace(path="/postgres"))
BENCH_URL = urlunparse(_server._replace(path=f"/{BENCH_DB}"))
os.environ["DATABASE_URL"] = BENCH_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["LOG_LEVEL"] = "WARNING"


def admin(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def median(values: list[float]) -> float:
    return statistics.median(values)


def line(name: str, value: float, unit: str, base_name: str = "", base: float | None = None, goal: str = "") -> None:
    ratio = f"  ratio {value / base:.3f} x {base_name}" if base else ""
    print(f"{name:<28} {value:>12,.1f} {unit:<10}{ratio}{('   (' + goal + ')') if goal else ''}", flush=True)


# --- setup ----------------------------------------------------------------------
def setup_database() -> None:
    admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
    admin(f'CREATE DATABASE "{BENCH_DB}"')
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True)


def setup_channel():
    import django

    django.setup()
    from channels.services import channel_create
    from merchants.models import Merchant

    channel, secret = channel_create(code="bench", name="Bench Acquirer")
    Merchant.objects.create(merchant_no="MB0001", name="Bench shop", channel=channel)
    return channel, secret


# --- baselines --------------------------------------------------------------------
def c_copy(channel_id: int, txn_id: int, rows: int = 100_000) -> float:
    """COPY into settlementevent (its unique and timeline indexes included)."""
    from django.db import connection

    rates = []
    for run in range(RUNS + 1):
        now = datetime.now(tz=UTC).isoformat()
        buf = io.StringIO()
        for i in range(rows):
            buf.write(f"{channel_id}\t{txn_id}\tcopy-{run}-{i}\tcleared\tpush\tstale\tcaptured\tcleared\t"
                      f"{now}\t{now}\t\t\t{{}}\t\n")
        buf.seek(0)
        with connection.cursor() as cur:
            start = time.perf_counter()
            cur.cursor.copy_expert(
                "COPY settlement_settlementevent (channel_id, transaction_id, event_id, type, source, outcome, "
                "from_status, to_status, occurred_at, received_at, payout_reference, reason, payload, fingerprint) "
                "FROM STDIN", buf)
            connection.commit() if not connection.get_autocommit() else None
            elapsed = time.perf_counter() - start
            cur.execute("DELETE FROM settlement_settlementevent WHERE event_id LIKE 'copy-%%'")
            cur.execute("VACUUM settlement_settlementevent") if False else None
        if run:  # the first run warms up
            rates.append(rows / elapsed)
    return median(rates)


def c_tps() -> tuple[float, str]:
    if not shutil.which("pgbench"):
        return c_single_commit(), "single-row commits/s, 2 clients (pgbench not found)"
    env = {**os.environ, "PGHOST": _server.hostname or "127.0.0.1", "PGPORT": str(_server.port or 5432),
           "PGUSER": _server.username or "postgres"}
    if _server.password:
        env["PGPASSWORD"] = _server.password
    subprocess.run(["pgbench", "-i", "-q", "-s", "1", BENCH_DB], env=env, check=True, capture_output=True)
    rates = []
    for run in range(RUNS + 1):
        out = subprocess.run(["pgbench", "-n", "-c", "2", "-j", "2", "-T", "5", BENCH_DB], env=env, check=True,
                             capture_output=True, text=True).stdout
        if run:
            rates.append(float(re.search(r"tps = ([0-9.]+)", out).group(1)))
    subprocess.run(["pgbench", "-i", "-I", "d", BENCH_DB], env=env, check=True, capture_output=True)
    return median(rates), "pgbench TPC-B-like, -c 2 -j 2 -T 5"


def c_single_commit(seconds: float = 3.0) -> float:
    import psycopg2

    def worker(counter: list[int]) -> None:
        conn = psycopg2.connect(BENCH_URL)
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS bench_commit (id bigserial primary key, v int)")
            conn.commit()
            end = time.perf_counter() + seconds
            while time.perf_counter() < end:
                cur.execute("INSERT INTO bench_commit (v) VALUES (1)")
                conn.commit()
                counter[0] += 1
        conn.close()

    counters = [[0], [0]]
    threads = [threading.Thread(target=worker, args=(c,)) for c in counters]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return sum(c[0] for c in counters) / seconds


# --- the server ---------------------------------------------------------------------
def free_port() -> int:
    for port in PORTS:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port in 9350-9399")


def start_gunicorn(port: int) -> subprocess.Popen:
    env = {**os.environ, "DJANGO_DEBUG": "false", "LOG_LEVEL": "WARNING", "AXES_ENABLED": "false"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "4", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=open(GUNICORN_LOG, "w"),  # noqa: SIM115
    )
    for _ in range(100):
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
            return proc
        except (requests.ConnectionError, requests.Timeout):  # a loaded machine answers the first request late
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)  # our own process group, started above
    proc.wait(timeout=20)


class Client:
    def __init__(self, base: str, secret: str):
        self.base, self.secret = base, secret
        self.local = threading.local()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "s"):
            self.local.s = requests.Session()
        return self.local.s

    def post(self, path: str, body: bytes) -> requests.Response:
        from channels.api.signing import signed_headers

        return self.session().post(f"{self.base}/api/v1/acquirer/bench/{path}", data=body,
                                   headers=signed_headers(self.secret, body), timeout=120)


def timed_parallel(fn, jobs: list, clients: int) -> tuple[float, list[float], list]:
    latencies: list[float] = []

    def run(job):
        start = time.perf_counter()
        out = fn(job)
        latencies.append(time.perf_counter() - start)
        return out

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        outs = list(pool.map(run, jobs))
    return time.perf_counter() - start, latencies, outs


def swipes_body(refs: list[str], captured: str) -> bytes:
    return json.dumps({"transactions": [
        {"reference": r, "merchant_no": "MB0001", "amount": "128.00", "masked_pan": "622202******1234",
         "captured_at": captured} for r in refs]}).encode()


def events_body(refs: list[str], kind: str, at: str) -> bytes:
    return json.dumps({"events": [
        {"event_id": f"{kind}-{r}", "reference": r, "type": kind, "occurred_at": at} for r in refs]}).encode()


def check(outs: list[requests.Response], key: str, expected: set[str]) -> None:
    for response in outs:
        if response.status_code != 200:
            raise SystemExit(f"HTTP {response.status_code}: {response.text[:300]}")
        got = {r["result"] for r in response.json()["results"]}
        if not got <= expected:
            raise SystemExit(f"unexpected results {got} (wanted {expected}) for {key}")


def main() -> None:
    print(f"command: {COMMAND}  (database {BENCH_DB} on {_server.hostname}:{_server.port or 5432}, "
          f"{os.cpu_count()} cores)", flush=True)
    setup_database()
    proc = None
    try:
        channel, secret = setup_channel()
        from django.db import connection

        from merchants.models import Merchant
        from settlement.services.transactions import NewTransaction, transaction_create

        seed = transaction_create(channel=channel, item=NewTransaction(
            reference="SEED", merchant=Merchant.objects.get(), amount=__import__("decimal").Decimal("1.00"),
            captured_at=datetime.now(tz=UTC) - timedelta(hours=1)))
        copy_rate = c_copy(channel.pk, seed.pk)
        tps, tps_how = c_tps()
        connection.close()

        port = free_port()
        proc = start_gunicorn(port)
        base = f"http://127.0.0.1:{port}"
        client = Client(base, secret)
        session = requests.Session()

        # Baseline: a plain Django JSON view under the same gunicorn, 8 clients.
        view_rates = []
        for run in range(RUNS + 1):
            elapsed, _, _ = timed_parallel(lambda _: session.get(f"{base}/healthz", timeout=30),
                                           list(range(SINGLE_REQUESTS)), CLIENTS)
            if run:
                view_rates.append(SINGLE_REQUESTS / elapsed)
        view_rate = median(view_rates)

        print("", flush=True)
        line("C_copy", copy_rate, "rows/s")
        line("C_tps", tps, "tps")
        print(f"{'':<28} ({tps_how})")
        line("C_view (/healthz, 8 cl.)", view_rate, "req/s")
        print("", flush=True)

        captured = (datetime.now(tz=UTC) - timedelta(days=1)).isoformat()
        at = (datetime.now(tz=UTC) - timedelta(hours=1)).isoformat()
        n_batch = BATCH * BATCH_REQUESTS

        # Swipes for the batch runs (also a figure: swipes created per second).
        refs = [f"B{i:06d}" for i in range(n_batch)]
        chunks = [refs[i:i + BATCH] for i in range(0, n_batch, BATCH)]
        elapsed, _, outs = timed_parallel(lambda c: client.post("transactions", swipes_body(c, captured)), chunks, BATCH_CLIENTS)
        check(outs, "transactions", {"created"})
        line("swipes created (500/req)", n_batch / elapsed, "rows/s", "C_copy", copy_rate)

        # Batch event push: each run moves every swipe one step, so every event applies.
        warm = [f"W{i:04d}" for i in range(BATCH)]
        client.post("transactions", swipes_body(warm, captured))
        client.post("events", events_body(warm, "cleared", at))
        batch_rates, first_bodies = [], None
        for kind in ("cleared", "settled", "credited"):
            bodies = [events_body(c, kind, at) for c in chunks]
            first_bodies = first_bodies or bodies
            elapsed, _, outs = timed_parallel(lambda b: client.post("events", b), bodies, BATCH_CLIENTS)
            check(outs, kind, {"applied"})
            batch_rates.append(n_batch / elapsed)
        batch_rate = median(batch_rates)
        line("batch push (500 ev/req)", batch_rate, "events/s", "C_copy", copy_rate, "goal >= 0.10, aim 0.25")

        # Replay of an already-ingested batch: all duplicates, no new rows.
        from settlement.models import SettlementEvent

        before = SettlementEvent.objects.count()
        replay_rates = []
        for _ in range(RUNS):
            elapsed, _, outs = timed_parallel(lambda b: client.post("events", b), first_bodies, BATCH_CLIENTS)
            check(outs, "replay", {"duplicate"})
            replay_rates.append(n_batch / elapsed)
        new_rows = SettlementEvent.objects.count() - before
        connection.close()
        replay_rate = median(replay_rates)
        line("replay (500 ev/req)", replay_rate, "events/s", "batch", batch_rate, "goal >= 1.0")
        line("replay new event rows", new_rows, "rows", goal="goal 0")

        # Single-event push, 8 concurrent clients.
        single_refs = [f"S{i:06d}" for i in range((RUNS + 1) * SINGLE_REQUESTS)]
        for i in range(0, len(single_refs), 1000):
            check([client.post("transactions", swipes_body(single_refs[i:i + 1000], captured))], "s", {"created"})
        rates, p50s, p99s = [], [], []
        for run in range(RUNS + 1):
            part = single_refs[run * SINGLE_REQUESTS:(run + 1) * SINGLE_REQUESTS]
            bodies = [events_body([r], "cleared", at) for r in part]
            elapsed, latencies, outs = timed_parallel(lambda b: client.post("events", b), bodies, CLIENTS)
            check(outs, "single", {"applied"})
            if run:
                latencies.sort()
                rates.append(SINGLE_REQUESTS / elapsed)
                p50s.append(latencies[len(latencies) // 2] * 1000)
                p99s.append(latencies[int(len(latencies) * 0.99)] * 1000)
        line("single push (8 clients)", median(rates), "req/s", "C_tps", tps, "goal >= 0.12")
        line("single push vs plain view", median(rates), "req/s", "C_view", view_rate)
        line("single push p50", median(p50s), "ms")
        line("single push p99", median(p99s), "ms", goal="goal <= 25 ms")
    finally:
        if proc is not None:
            stop(proc)
        from django.db import connections

        connections.close_all()
        admin(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        print(f"\ndropped database {BENCH_DB}", flush=True)


if __name__ == "__main__":
    main()
