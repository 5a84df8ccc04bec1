"""Merchant "find a swipe" under load (issue 6), next to a plain Django JSON view.

    python -m bench.dashboard [--rows 5000000] [--merchants 20000] [--seconds 8] [--runs 3] [--keep]

Builds a separate database `bench_dash` (migrated; transactions generated with one
INSERT ... SELECT generate_series, the table's indexes rebuilt afterwards), serves the
app with gunicorn on 127.0.0.1:9500, and drives it with 8 concurrent clients, each a
merchant user with its own session. Baseline in the same run: /healthz (a plain Django
JSON view doing SELECT 1) under the same gunicorn settings. Each figure is the median
of --runs runs after a warm-up, runs of the two interleaved. The database is dropped at
the end unless --keep. Goal: find >= 0.3 x the plain view's requests/s, p99 <= 50 ms.
"""

import argparse
import http.client
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

BASE_DIR = Path(__file__).resolve().parent.parent
DB_NAME = os.environ.get("BENCH_DB", "bench_dash")  # another name lets two runs share a server
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
PORT = int(os.environ.get("BENCH_PORT", "9500"))
CLIENTS = 8
GUNICORN_WORKERS = 3  # 2 cores: the same settings serve the baseline and the find


def log(msg: str) -> None:
    print(msg, flush=True)


# --- database ----------------------------------------------------------------------
def admin_sql(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(f"{PG}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def setup_django() -> None:
    os.environ["DATABASE_URL"] = f"{PG}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()


def build(rows: int, merchants: int) -> dict:
    from django.core.management import call_command
    from django.db import connection

    from channels.services import calendar_seed_china, channel_create

    call_command("migrate", verbosity=0)
    calendar_seed_china()
    channel, _secret = channel_create(code="bench", name="Bench acquirer")
    with connection.cursor() as cur:
        cur.execute(
            """INSERT INTO merchants_merchant (merchant_no, name, channel_id, settlement_cycle, fee_rate_bps,
                   account_bank, account_holder, account_last4, contact_email, contact_phone, status, timezone,
                   language, created_at, updated_at)
               SELECT 'B' || lpad(g::text, 7, '0'), '商户 ' || g, %s, 'T1', 60, '', '', '', '', '', 'active',
                      'Asia/Shanghai', 'zh-hans', now(), now()
               FROM generate_series(1, %s) g""",
            [channel.pk, merchants],
        )
        cur.execute("SELECT min(id) FROM merchants_merchant")
        first_merchant = cur.fetchone()[0]
        cur.execute(
            """INSERT INTO merchants_terminal (merchant_id, serial_number, active, created_at)
               SELECT id, 'SN' || id, true, now() FROM merchants_merchant ORDER BY id"""
        )
        cur.execute("SELECT min(id) FROM merchants_terminal")
        first_terminal = cur.fetchone()[0]
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'settlement_transaction' "
            "AND indexdef NOT LIKE '%%(id)'"
        )
        indexes = cur.fetchall()
        constraints = [name for name, _ in indexes if name.endswith("txn_unique_reference") or name == "txn_unique_reference"]
        for name in constraints:
            cur.execute(f'ALTER TABLE settlement_transaction DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            if name not in constraints:
                cur.execute(f'DROP INDEX IF EXISTS "{name}"')
    t0 = time.perf_counter()
    step = 1_000_000
    with connection.cursor() as cur:
        for start in range(1, rows + 1, step):
            end = min(start + step - 1, rows)
            cur.execute(
                """INSERT INTO settlement_transaction (reference, amount, fee, net, currency, masked_pan, method,
                       captured_at, status, resume_status, business_date, expected_by, overdue_at,
                       calendar_incomplete, settled_at, credited_at, last_event_at, poll_attempts,
                       created_at, updated_at, channel_id, merchant_id, terminal_id)
                   SELECT 'R' || lpad(g::text, 10, '0'), a.amount, a.fee, a.amount - a.fee, 'CNY',
                          '622202******' || lpad(((g::bigint * 7919) %% 10000)::text, 4, '0'), 'chip',
                          c.cap, CASE WHEN c.cap < now() - interval '2 days' THEN 'credited' ELSE 'cleared' END, '',
                          (c.cap AT TIME ZONE 'Asia/Shanghai')::date, c.cap + interval '1 day',
                          c.cap + interval '26 hours', false,
                          CASE WHEN c.cap < now() - interval '2 days' THEN c.cap + interval '20 hours' END,
                          CASE WHEN c.cap < now() - interval '2 days' THEN c.cap + interval '22 hours' END,
                          c.cap + interval '1 hour', 0, now(), now(), %(channel)s,
                          %(m0)s + (g %% %(n)s), %(t0)s + (g %% %(n)s)
                   FROM generate_series(%(start)s, %(end)s) g
                   CROSS JOIN LATERAL (SELECT round((1 + ((g::bigint * 104729) %% 500000) / 100.0)::numeric, 2) AS v) a0
                   CROSS JOIN LATERAL (SELECT a0.v AS amount, round(a0.v * 0.006, 2) AS fee) a
                   CROSS JOIN LATERAL (SELECT now() - ((g::bigint * 7) %% 7776000) * interval '1 second' AS cap) c""",
                {"channel": channel.pk, "m0": first_merchant, "t0": first_terminal, "n": merchants,
                 "start": start, "end": end},
            )
            log(f"  loaded {end:,} rows")
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    with connection.cursor() as cur:
        for name in constraints:
            cur.execute(f'ALTER TABLE settlement_transaction ADD CONSTRAINT "{name}" UNIQUE (channel_id, reference)')
        for name, definition in indexes:
            if name not in constraints:
                cur.execute(definition)
        cur.execute("ANALYZE")
    index_s = time.perf_counter() - t1
    return {"load_rows_per_s": rows / load_s, "index_s": index_s, "first_merchant": first_merchant}


def sessions_and_samples(merchant_ids: list[int]) -> list[dict]:
    """One user + session per client, each a member of one merchant; sample finds."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection

    from merchants.models import Membership

    clients = []
    User = get_user_model()
    for i, merchant_id in enumerate(merchant_ids):
        user, _ = User.objects.get_or_create(username=f"bench{i}")
        user.set_unusable_password()
        user.save()
        Membership.objects.get_or_create(user=user, merchant_id=merchant_id)
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        with connection.cursor() as cur:
            cur.execute(
                "SELECT reference, amount::text, right(masked_pan, 4), captured_at::date FROM settlement_transaction "
                "WHERE merchant_id = %s ORDER BY random() LIMIT 100", [merchant_id])
            samples = cur.fetchall()
        clients.append({"cookie": f"{settings.SESSION_COOKIE_NAME}={store.session_key}", "samples": samples})
    return clients


def find_paths(samples: list, rng: random.Random) -> list[tuple[str, str]]:
    """The ways a shop owner looks for a swipe, in turn."""
    paths = []
    for reference, amount, last4, day in samples:
        paths.append(("reference", "/m/swipes/?" + urlencode({"reference": reference})))
        paths.append(("amount+last4", "/m/swipes/?" + urlencode({"amount": amount, "last4": last4})))
        paths.append(("amount", "/m/swipes/?" + urlencode({"amount": amount})))
        paths.append(("last4+days", "/m/swipes/?" + urlencode(
            {"last4": last4, "date_from": str(day), "date_to": str(day)})))
    rng.shuffle(paths)
    return paths


def api_paths(samples: list, rng: random.Random) -> list[tuple[str, str]]:
    """The same finds through the merchant REST API (JSON, session auth)."""
    paths = []
    for reference, amount, last4, _day in samples:
        paths.append(("api reference", "/api/v1/merchant/transactions/?" + urlencode({"reference": reference})))
        paths.append(("api amount+last4", "/api/v1/merchant/transactions/?" + urlencode(
            {"amount": amount, "last4": last4})))
    rng.shuffle(paths)
    return paths


def explain(merchant_id: int, sample) -> None:
    from decimal import Decimal

    from merchants.models import Merchant
    from merchants.selectors import SwipeQuery, swipes_find

    merchant = Merchant.objects.get(pk=merchant_id)
    reference, amount, last4, _day = sample
    for label, query in [("reference", SwipeQuery(reference=reference)),
                         ("amount+last4", SwipeQuery(amount=Decimal(amount), last4=last4)),
                         ("last4", SwipeQuery(last4=last4))]:
        plan = swipes_find(merchant, query)[:101].explain(analyze=True)
        used = sorted({w.strip("\"(),") for w in plan.split() if w.startswith("txn_")})
        took = next((line.split(":")[1].strip() for line in plan.splitlines() if "Execution Time" in line), "?")
        log(f"  plan {label:13s} uses {', '.join(used) or 'NO INDEX'}; executes in {took}")


# --- load --------------------------------------------------------------------------
def drive(jobs: list[tuple[str, list[tuple[str, str]]]], seconds: float) -> dict:
    """`jobs`: per client (cookie, [(kind, path)]). Returns rps and latencies by kind."""
    stop = time.perf_counter() + seconds
    results: list[list[tuple[str, float, int]]] = [[] for _ in jobs]

    def client(i: int, cookie: str, paths: list[tuple[str, str]]) -> None:
        n = 0
        while time.perf_counter() < stop:
            kind, path = paths[n % len(paths)]
            n += 1
            t0 = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=30)
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            response = conn.getresponse()
            response.read()
            conn.close()
            results[i].append((kind, time.perf_counter() - t0, response.status))

    threads = [threading.Thread(target=client, args=(i, c, p)) for i, (c, p) in enumerate(jobs)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    flat = [r for rs in results for r in rs]
    bad = [r for r in flat if r[2] not in (200, 302)]
    if bad:
        raise SystemExit(f"unexpected statuses: {sorted({r[2] for r in bad})}")
    by_kind: dict[str, list[float]] = {}
    for kind, latency, _status in flat:
        by_kind.setdefault(kind, []).append(latency)
    return {"rps": len(flat) / elapsed, "lat": sorted(r[1] for r in flat), "by_kind": by_kind}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def start_gunicorn() -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": f"{PG}/{DB_NAME}", "DJANGO_DEBUG": "false", "LOG_LEVEL": "WARNING",
           "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost"}
    proc = subprocess.Popen(
        [str(BASE_DIR / ".venv" / "bin" / "gunicorn"), "config.wsgi", "-b", f"127.0.0.1:{PORT}",
         "-w", str(GUNICORN_WORKERS), "--log-level", "warning"],
        cwd=BASE_DIR, env=env,
    )
    for _ in range(100):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--merchants", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep bench_dash (and reuse it next time)")
    args = parser.parse_args()
    command = "python -m bench.dashboard " + " ".join(sys.argv[1:])

    import psycopg2

    conn = psycopg2.connect(f"{PG}/postgres")
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME])
        exists = cur.fetchone() is not None
    conn.close()
    reuse = exists and args.keep
    if exists and not reuse:
        admin_sql(f"DROP DATABASE {DB_NAME} WITH (FORCE)")
    if not reuse:
        admin_sql(f"CREATE DATABASE {DB_NAME}")
    setup_django()
    gunicorn = None
    try:
        from django.db import connection

        if reuse:
            log(f"reusing {DB_NAME}")
            with connection.cursor() as cur:
                cur.execute("SELECT min(id) FROM merchants_merchant")
                built = {"first_merchant": cur.fetchone()[0]}
        else:
            log(f"building {DB_NAME}: {args.rows:,} transactions across {args.merchants:,} merchants")
            built = build(args.rows, args.merchants)
            log(f"  generate_series load {built['load_rows_per_s']:,.0f} rows/s (unindexed), "
                f"indexes rebuilt in {built['index_s']:.1f} s")
        rng = random.Random(6)
        merchant_ids = [built["first_merchant"] + rng.randrange(args.merchants) for _ in range(CLIENTS)]
        clients = sessions_and_samples(merchant_ids)
        explain(merchant_ids[0], clients[0]["samples"][0])
        connection.close()

        gunicorn = start_gunicorn()
        baseline_jobs = [("", [("healthz", "/healthz")]) for _ in range(CLIENTS)]
        # The same plain view for a logged-in merchant: what any session request costs
        # (session read + the idle-expiry save on every request) before any find work.
        session_jobs = [(c["cookie"], [("healthz+session", "/healthz")]) for c in clients]
        find_jobs = [(c["cookie"], find_paths(c["samples"], rng)) for c in clients]
        api_jobs = [(c["cookie"], api_paths(c["samples"], rng)) for c in clients]
        drive(baseline_jobs, 2)
        sequential = {
            "plain view": drive([baseline_jobs[0]], 3),
            "plain view, logged in": drive([session_jobs[0]], 3),
            "find page": drive([find_jobs[0]], 3),
            "find API": drive([api_jobs[0]], 3),
        }
        drive(find_jobs, 2)
        drive(api_jobs, 2)
        load_before = os.getloadavg()[0]
        base_runs, find_runs, api_runs, session_runs = [], [], [], []
        for run in range(args.runs):
            base_runs.append(drive(baseline_jobs, args.seconds))
            session_runs.append(drive(session_jobs, args.seconds))
            find_runs.append(drive(find_jobs, args.seconds))
            api_runs.append(drive(api_jobs, args.seconds))
            log(f"  run {run + 1}: plain {base_runs[-1]['rps']:.0f} req/s, find page {find_runs[-1]['rps']:.0f} req/s "
                f"(p99 {pct(find_runs[-1]['lat'], 0.99):.1f} ms), find API {api_runs[-1]['rps']:.0f} req/s "
                f"(p99 {pct(api_runs[-1]['lat'], 0.99):.1f} ms)")

        def med(runs, f):
            return statistics.median(f(r) for r in runs)

        base_rps = med(base_runs, lambda r: r["rps"])
        find_rps = med(find_runs, lambda r: r["rps"])
        p50 = med(find_runs, lambda r: pct(r["lat"], 0.50))
        p99 = med(find_runs, lambda r: pct(r["lat"], 0.99))
        base_p99 = med(base_runs, lambda r: pct(r["lat"], 0.99))
        log("")
        log(f"command: {command}")
        log(f"setup: {args.rows:,} transactions, {args.merchants:,} merchants, {CLIENTS} clients, "
            f"gunicorn -w {GUNICORN_WORKERS} (sync), {args.runs} runs x {args.seconds:.0f} s, medians")
        log(f"machine load average (2 cores, shared): {load_before:.1f} before the runs, "
            f"{os.getloadavg()[0]:.1f} after")
        log(f"baseline plain Django JSON view (/healthz): {base_rps:,.0f} req/s, p99 {base_p99:.1f} ms")
        session_rps = med(session_runs, lambda r: r["rps"])
        log(f"baseline same view with a logged-in session: {session_rps:,.0f} req/s, "
            f"p99 {med(session_runs, lambda r: pct(r['lat'], 0.99)):.1f} ms")
        log("one client, sequential (per-request cost): " + ", ".join(
            f"{name} {pct(r['lat'], 0.5):.2f} ms" for name, r in sequential.items()))
        log(f"find a swipe (/m/swipes/?..., logged-in merchant): {find_rps:,.0f} req/s, "
            f"p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        for kind in sorted(find_runs[0]["by_kind"]):
            log(f"  {kind:13s} p50 {med(find_runs, lambda r, k=kind: pct(r['by_kind'][k], 0.5)):.1f} ms, "
                f"p99 {med(find_runs, lambda r, k=kind: pct(r['by_kind'][k], 0.99)):.1f} ms")
        api_rps = med(api_runs, lambda r: r["rps"])
        api_p50 = med(api_runs, lambda r: pct(r["lat"], 0.50))
        api_p99 = med(api_runs, lambda r: pct(r["lat"], 0.99))
        log(f"find a swipe (/api/v1/merchant/transactions/?..., JSON): {api_rps:,.0f} req/s, "
            f"p50 {api_p50:.1f} ms, p99 {api_p99:.1f} ms")
        for label, rps, p99_ in (("page", find_rps, p99), ("API", api_rps, api_p99)):
            ratio = rps / base_rps
            log(f"ratio find {label} / plain view req/s: {ratio:.2f} (goal >= 0.30) {'OK' if ratio >= 0.3 else 'MISSED'}")
            log(f"find {label} p99: {p99_:.1f} ms (goal <= 50 ms) {'OK' if p99_ <= 50 else 'MISSED'}")
            log(f"ratio find {label} / logged-in plain view req/s: {rps / session_rps:.2f}")
    finally:
        if gunicorn is not None:
            gunicorn.send_signal(signal.SIGTERM)
            gunicorn.wait(timeout=30)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            log(f"dropped {DB_NAME}")


if __name__ == "__main__":
    main()
