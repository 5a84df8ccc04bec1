"""Late-scan benchmark (issue 5): python -m bench.delays

Builds, in its own database `bench_delays` (dropped at the end), 5M transactions of
which 1M are open and ~10,000 newly late, then measures in the same run. The newly
late ones are one in ten of the open swipes captured in one period (they became late
together because they share a deadline), not spread evenly over the whole table;
flagging them touches about a tenth as many heap and index pages as an even spread.

- baselines: COPY rows/s into the indexed transaction table, pgbench TPC-B-like tps
  with 2 clients, and a full scan of the table (the late predicate with index scans off);
- the time to flag the ~10,000 late swipes and open their cases (goal >= 10,000/s),
  with one scanner and with two concurrent scanner processes (two Celery workers
  sharing the backlog through SKIP LOCKED), median of 3 runs each after a warm-up,
  each run reset to the same starting state;
- the steady-state probe (nothing late: the scan's read through txn_overdue_unflagged),
  p50/p99 of 201 runs, next to the full scan (goal: probe <= 0.001 x full scan);
- recompute every in-flight swipe after a calendar change (issue 10): a DeadlineRecompute
  over the whole calendar, worked batch by batch as the task does; every row's deadline
  moves (the channels' grace changes between runs); rows/s next to COPY (goal >= 0.1 x
  COPY), median of 3.

Options: --rows N (default 5,000,000), --open N (1,000,000), --late N (10,000),
--keep (do not drop the database).
"""

import argparse
import io
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from urllib.parse import urlsplit, urlunsplit

DB_NAME = os.environ.get("BENCH_DELAYS_DB", "bench_delays")


def _urls() -> tuple[str, str]:
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        sys.exit("bench.delays needs PostgreSQL: set DATABASE_URL=postgres://...")
    admin = urlunsplit(parts._replace(path="/postgres"))
    bench = urlunsplit(parts._replace(path=f"/{DB_NAME}"))
    return admin, bench


def _admin(sql: str, admin_url: str) -> None:
    import psycopg2

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def _scan(now, ready, go, results) -> None:
    """One scanner process (a running Celery worker): connects first, then waits for
    the start signal, so the timing holds the scan only."""
    from django.db import connection, connections

    from settlement.services.delays import delays_flag

    try:
        connection.ensure_connection()
        ready.put(1)
        go.wait()
        flagged = delays_flag(now=now).flagged
        results.put((flagged, time.perf_counter()))
    finally:
        connections.close_all()


def _median_time(fn, runs: int = 3, warmup: int = 1) -> list[float]:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--open", type=int, default=1_000_000)
    parser.add_argument("--late", type=int, default=10_000)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    command = "python -m bench.delays " + " ".join(sys.argv[1:])

    admin_url, bench_url = _urls()
    _admin(f"DROP DATABASE IF EXISTS {DB_NAME}", admin_url)
    _admin(f"CREATE DATABASE {DB_NAME}", admin_url)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        run(args, command, bench_url)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            _admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)", admin_url)


def run(args, command: str, bench_url: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    import settlement.tasks
    from channels.services import channel_create
    from merchants.models import Merchant
    from settlement.models import Transaction
    from settlement.services.delays import delays_flag, late_probe_sql

    # Emails are a separate task; the benchmark measures flagging and opening cases.
    settlement.tasks.send_notification_emails.delay = lambda ids: None

    call_command("migrate", verbosity=0)
    channels = [channel_create(code=f"bench{i}", name=f"Bench {i}")[0] for i in range(4)]
    merchants = Merchant.objects.bulk_create(
        [Merchant(merchant_no=f"BM{i:06d}", name=f"Bench merchant {i}", channel=channels[i % 4],
                  account_last4="1234") for i in range(1000)]
    )
    channel_ids = [c.id for c in channels]
    merchant_ids = [m.id for m in merchants]
    table = Transaction._meta.db_table
    closed = args.rows - args.open
    # The newly late swipes were captured together (e.g. one afternoon's T1 swipes all
    # due by the same 18:00 + grace), so they sit in one band of the heap, one in ten
    # rows of the swipes captured at that time: the band is the last 10 x late open rows.
    late_every = max(1, min(10, args.open // max(args.late, 1)))
    band_start = args.open - late_every * args.late  # j > band_start and j % late_every == 0
    now = timezone.now()

    print(f"building {args.rows:,} transactions ({args.open:,} open, ~{args.late:,} late) ...",
          flush=True)
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)", [table, table]
        )
        index_defs = cur.fetchall()
        for name, _ in index_defs:
            cur.execute(f'DROP INDEX "{name}"')
        # Non-final rows: j = g - closed in 1..open; every late_every-th is overdue now.
        step = 1_000_000
        for start in range(1, args.rows + 1, step):
            end = min(args.rows, start + step - 1)
            cur.execute(
                f"""INSERT INTO {table} (channel_id, reference, merchant_id, amount, fee, net, currency,
                    masked_pan, method, captured_at, status, resume_status, business_date, expected_by,
                    overdue_at, calendar_incomplete, poll_attempts, created_at, updated_at, credited_at,
                    settled_at, next_poll_at)
                SELECT (%(ch)s::bigint[])[1 + g %% 4], 'B' || g, (%(m)s::bigint[])[1 + g %% 1000],
                    100.00, 0.60, 99.40, 'CNY', '622202******1234', 'chip', cap, st, '', cap::date,
                    exp, exp + interval '2 hours', false, 0, %(now)s, %(now)s,
                    CASE WHEN st = 'credited' THEN exp END, CASE WHEN st = 'credited' THEN exp END, NULL
                FROM (
                    SELECT g,
                        CASE WHEN g <= %(closed)s THEN 'credited'
                             ELSE (ARRAY['captured', 'cleared', 'settled'])[1 + g %% 3] END AS st,
                        CASE WHEN g <= %(closed)s THEN %(now)s - (g %% 7776000) * interval '1 second'
                             WHEN g - %(closed)s > %(band)s AND (g - %(closed)s) %% %(every)s = 0
                                 THEN %(now)s - interval '2 days' - (g %% 3600) * interval '1 second'
                             ELSE %(now)s - (g %% 36000) * interval '1 second' END AS cap
                    FROM generate_series(%(start)s, %(end)s) AS g
                ) AS s,
                LATERAL (SELECT CASE
                    WHEN g > %(closed)s AND NOT (g - %(closed)s > %(band)s AND (g - %(closed)s) %% %(every)s = 0)
                        THEN %(now)s + interval '1 hour' + (g %% 259200) * interval '1 second'
                    ELSE cap + interval '1 day' END AS exp) AS e""",
                {"ch": channel_ids, "m": merchant_ids, "now": now, "closed": closed, "every": late_every, "band": band_start,
                 "start": start, "end": end},
            )
            print(f"  {end:,} rows", flush=True)
        for _name, definition in index_defs:
            cur.execute(definition)
        cur.execute(f"VACUUM ANALYZE {table}")
    print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)

    with connection.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table} WHERE status <> 'credited'")
        open_rows = cur.fetchone()[0]
        cur.execute(f"SELECT count(*) FROM {table} WHERE status <> 'credited' AND overdue_at <= %s", [now])
        late_rows = cur.fetchone()[0]
    print(f"open: {open_rows:,}  late now: {late_rows:,}")

    # --- baseline 1: COPY rows/s into the indexed table --------------------------------
    copy_rates = []
    for run_no in range(3):
        buf = io.StringIO()
        n = 50_000
        base = args.rows + 1 + run_no * n
        for i in range(base, base + n):
            buf.write(f"{channel_ids[i % 4]}\tC{i}\t{merchant_ids[i % 1000]}\t100.00\t0.60\t99.40\tCNY\t"
                      f"622202******1234\tchip\t{now.isoformat()}\tcredited\t\t{now.date()}\t{now.isoformat()}\t"
                      f"{now.isoformat()}\tf\t0\t{now.isoformat()}\t{now.isoformat()}\n")
        buf.seek(0)
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.cursor.copy_from(buf, table, columns=(
                "channel_id", "reference", "merchant_id", "amount", "fee", "net", "currency", "masked_pan",
                "method", "captured_at", "status", "resume_status", "business_date", "expected_by", "overdue_at",
                "calendar_incomplete", "poll_attempts", "created_at", "updated_at"))
        copy_rates.append(n / (time.perf_counter() - t0))
    copy_rate = statistics.median(copy_rates)

    # --- baseline 2: pgbench TPC-B-like, 2 clients --------------------------------------
    tps = None
    parts = urlsplit(bench_url)
    pg_env = {**os.environ, "PGHOST": parts.hostname or "127.0.0.1", "PGPORT": str(parts.port or 5432),
              "PGUSER": parts.username or "postgres", "PGDATABASE": DB_NAME}
    if parts.password:
        pg_env["PGPASSWORD"] = parts.password
    try:
        subprocess.run(["pgbench", "-i", "-s", "2", "-q"], env=pg_env, check=True, capture_output=True)
        results = []
        for _ in range(3):
            out = subprocess.run(["pgbench", "-c", "2", "-j", "2", "-T", "5", "-n"], env=pg_env, check=True,
                                 capture_output=True, text=True).stdout
            line = next(ln for ln in out.splitlines() if ln.startswith("tps"))
            results.append(float(line.split("=")[1].split()[0]))
        tps = statistics.median(results)
    except (OSError, subprocess.CalledProcessError, StopIteration) as exc:
        print(f"pgbench unavailable: {exc}")

    # --- baseline 3: a full scan of the table (the late predicate, index scans off) ----
    probe_sql, _ = late_probe_sql()
    count_sql = probe_sql.replace("SELECT id", "SELECT count(*)").split(" ORDER BY")[0]

    def full_scan():
        with connection.cursor() as cur:
            cur.execute("SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off")
            cur.execute(count_sql, [now])
            cur.fetchone()
            cur.execute("RESET enable_indexscan; RESET enable_bitmapscan; RESET enable_indexonlyscan")

    full_times = _median_time(full_scan, runs=3, warmup=1)
    full_scan_s = statistics.median(full_times)

    # --- flag ~10k late swipes and open their cases, 3 runs from the same state --------
    from settlement.models import (
        CaseEntry,
        ChannelIncident,
        FollowUpCase,
        IncidentUpdate,
        Notification,
        SettlementEvent,
    )

    def reset():
        # Back to the state before the scan. TRUNCATE, not DELETE: dead index entries
        # would make the next run's uniqueness checks slower than production ever sees.
        tables = [m._meta.db_table for m in (Notification, CaseEntry, FollowUpCase, IncidentUpdate, ChannelIncident,
                                             SettlementEvent)]
        with connection.cursor() as cur:
            cur.execute(f"TRUNCATE {', '.join(tables)}")
            cur.execute(f"UPDATE {table} SET delayed_since = NULL WHERE delayed_since IS NOT NULL")
            cur.execute(f"VACUUM ANALYZE {table}")

    def flag_run(scanners: int) -> tuple[int, float]:
        reset()
        connections.close_all()  # each scanner process opens its own connection
        if scanners == 1:
            t0 = time.perf_counter()
            return delays_flag(now=now).flagged, time.perf_counter() - t0
        ctx = multiprocessing.get_context("fork")
        ready, results, go = ctx.Queue(), ctx.Queue(), ctx.Event()
        procs = [ctx.Process(target=_scan, args=(now, ready, go, results)) for _ in range(scanners)]
        for proc in procs:
            proc.start()
        for _ in procs:
            ready.get(timeout=60)
        t0 = time.perf_counter()
        go.set()
        done = [results.get(timeout=600) for _ in procs]
        for proc in procs:
            proc.join()
        return sum(n for n, _ in done), max(t for _, t in done) - t0

    rates: dict[int, list[float]] = {1: [], 2: []}
    flag_run(1)  # warm-up
    if os.environ.get("BENCH_DELAYS_PROFILE"):  # where one scan's time goes: SQL per statement, then Python
        import cProfile
        import pstats

        from django.test.utils import CaptureQueriesContext

        reset()
        connections.close_all()
        profile = cProfile.Profile()
        with CaptureQueriesContext(connection) as queries:
            profile.enable()
            t0 = time.perf_counter()
            delays_flag(now=now)
            elapsed = time.perf_counter() - t0
            profile.disable()
        print(f"profile: one scan {elapsed * 1000:.1f} ms, {len(queries)} statements, "
              f"SQL {sum(float(q['time']) for q in queries) * 1000:.1f} ms")
        for q in sorted(queries, key=lambda q: -float(q["time"]))[:8]:
            print(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:110]}")
        pstats.Stats(profile).sort_stats("tottime").print_stats(25)
    for scanners in (1, 2):
        for _ in range(3):
            flagged, elapsed = flag_run(scanners)
            assert flagged == late_rows, (flagged, late_rows)
            assert FollowUpCase.objects.count() == late_rows
            rates[scanners].append(flagged / elapsed)
    flag_rate = statistics.median(rates[1])
    flag_rate_2 = statistics.median(rates[2])

    # --- steady state: nothing left to flag; the probe through the partial index -------
    def probe():
        with connection.cursor() as cur:
            cur.execute(probe_sql, [now, 1000])
            return cur.fetchall()

    for _ in range(20):
        assert probe() == []
    probe_times = []
    for _ in range(201):
        t0 = time.perf_counter()
        probe()
        probe_times.append(time.perf_counter() - t0)
    probe_p50, probe_p99 = _pct(probe_times, 50), _pct(probe_times, 99)
    with connection.cursor() as cur:
        cur.execute("EXPLAIN " + probe_sql, [now, 1000])
        plan = " ".join(r[0] for r in cur.fetchall())

    # The same two, timed inside the server (EXPLAIN ANALYZE "Execution Time"): no
    # client round trip, so less of the machine's noise.
    def server_ms(sql: str, params: list, setup: str = "") -> float:
        with connection.cursor() as cur:
            if setup:
                cur.execute(setup)
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            result = cur.fetchone()[0][0]["Execution Time"]
            if setup:
                cur.execute("RESET enable_indexscan; RESET enable_bitmapscan; RESET enable_indexonlyscan")
        return result

    probe_server = statistics.median([server_ms(probe_sql, [now, 1000]) for _ in range(51)])
    seq_off = "SET enable_indexscan = off; SET enable_bitmapscan = off; SET enable_indexonlyscan = off"
    full_server = statistics.median([server_ms(count_sql, [now], seq_off) for _ in range(3)])

    # --- recompute every in-flight deadline after a calendar change (issue 10) --------
    from channels.models import Channel
    from settlement.models import DeadlineRecompute
    from settlement.services.reschedule import deadlines_recompute_request, recompute_batch

    def recompute_run(grace: int) -> tuple[int, int, float]:
        Channel.objects.filter(id__in=channel_ids).update(grace_minutes=grace)  # every overdue_at moves
        request = deadlines_recompute_request(reason=DeadlineRecompute.Reason.CALENDAR_DAY,
                                              calendar_id=channels[0].calendar_id, detail={"bench": True})
        looked = moved = 0
        t0 = time.perf_counter()
        while True:
            batch = recompute_batch(request_id=request.id, now=now)
            looked, moved = looked + batch.looked_at, moved + batch.changed
            if not batch.more:
                break
        return looked, moved, time.perf_counter() - t0

    recompute_run(125)  # warm-up (and the synthetic deadlines become computed ones)
    recompute_rates, recompute_rows = [], 0
    for grace in (130, 135, 140):
        looked, moved, elapsed = recompute_run(grace)
        assert moved == looked, (moved, looked)
        recompute_rows = looked
        recompute_rates.append(looked / elapsed)
    recompute_rate = statistics.median(recompute_rates)

    print()
    print(f"command: {command}")
    print(f"table: {args.rows:,} transactions, {open_rows:,} open, {late_rows:,} newly late")
    print(f"baseline COPY into indexed transaction table: {copy_rate:,.0f} rows/s (median of 3 x 50k)")
    if tps:
        print(f"baseline pgbench TPC-B-like, 2 clients: {tps:,.0f} tps (median of 3 x 5 s)")
    print(f"baseline full scan of the table: {full_scan_s * 1000:,.1f} ms (median of 3: "
          + ", ".join(f"{t * 1000:.0f}" for t in full_times) + ")")
    for label, rate, runs in (("1 scanner", flag_rate, rates[1]), ("2 scanners (2 workers)", flag_rate_2, rates[2])):
        print(f"flag + open cases, {label}: {late_rows:,} in {late_rows / rate:.2f} s = {rate:,.0f} /s "
              f"(median of 3: " + ", ".join(f"{r:,.0f}" for r in runs) + ")  goal >= 10,000/s  "
              f"{'OK' if rate >= 10_000 else 'MISSED'}")
        print(f"ratio flag rate ({label}) / COPY rate: {rate / copy_rate:.3f}")
        if tps:
            print(f"ratio flag rate ({label}) / pgbench tps: {rate / tps:.2f}")
    print(f"steady-state probe: p50 {probe_p50 * 1000:.3f} ms, p99 {probe_p99 * 1000:.3f} ms (201 runs)")
    ratio = probe_p50 / full_scan_s
    print(f"ratio probe p50 / full scan: {ratio:.6f}  goal <= 0.001  {'OK' if ratio <= 0.001 else 'MISSED'}")
    print(f"in-server (EXPLAIN ANALYZE): probe {probe_server:.3f} ms (median of 51), full scan "
          f"{full_server:,.1f} ms (median of 3); ratio {probe_server / full_server:.6f}  goal <= 0.001  "
          f"{'OK' if probe_server / full_server <= 0.001 else 'MISSED'}")
    print(f"probe plan uses txn_overdue_unflagged: {'txn_overdue_unflagged' in plan}")
    print(f"recompute in-flight swipes after a calendar change: {recompute_rows:,} rows, {recompute_rate:,.0f} rows/s "
          f"(median of 3: " + ", ".join(f"{r:,.0f}" for r in recompute_rates) + ")")
    ratio = recompute_rate / copy_rate
    print(f"ratio recompute rate / COPY rate: {ratio:.3f}  goal >= 0.1  {'OK' if ratio >= 0.1 else 'MISSED'}")


if __name__ == "__main__":
    main()
