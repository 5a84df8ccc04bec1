"""Reconciliation benchmark (issue 12): python -m bench.reconcile

Builds, in its own database (`$BENCH_RECON_DB`, default `bench_reconcile`; dropped at the end), N swipes of one
channel and business date (default 1,000,000, via generate_series) and a settlement
file of N lines listing them, with a few faults (one line missing, one unknown, one
amount off by 0.01). Then, in the same run:

- baselines: COPY lines/s of the same file's lines into a staging table of the same shape,
  and COPY rows/s of as many result rows into the results table with its indexes (the
  table the run writes, as BENCHMARKS.md asks);
- end to end: settlement_file_receive (hash, parse and check every line, COPY into the
  staging table, match in SQL, store a result per line and per swipe, totals, breaks),
  lines/s, median of 3 runs after a warm-up, each run on a fresh copy of the file;
- the ratios end-to-end / COPY (goal >= 0.2 against the results table).

Options: --rows N (default 1,000,000), --runs N (3), --keep (do not drop the database).
"""

import argparse
import io
import os
import re
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

DB_NAME = os.environ.get("BENCH_RECON_DB") or "bench_reconcile"
if not re.fullmatch(r"[a-z_][a-z0-9_]*", DB_NAME):
    sys.exit("BENCH_RECON_DB must be a plain lower-case database name")
DAY = date(2026, 11, 20)


def _urls() -> tuple[str, str]:
    base = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        sys.exit("bench.reconcile needs PostgreSQL: set DATABASE_URL=postgres://...")
    return urlunsplit(parts._replace(path="/postgres")), urlunsplit(parts._replace(path=f"/{DB_NAME}"))


def _admin(sql: str, admin_url: str) -> None:
    import psycopg2

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    command = "python -m bench.reconcile " + " ".join(sys.argv[1:])
    admin_url, bench_url = _urls()
    _admin(f"DROP DATABASE IF EXISTS {DB_NAME}", admin_url)
    _admin(f"CREATE DATABASE {DB_NAME}", admin_url)
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    try:
        run(args, command)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            _admin(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)", admin_url)


def _file(n: int, start: datetime, variant: int) -> bytes:
    """The settlement file: every swipe but B1, plus an unknown line, B2 off by 0.01; the
    variant changes one unknown reference so each run's file is new (not a duplicate)."""
    out = io.StringIO()
    out.write("reference,merchant_no,amount,fee,captured_at\n")
    for g in range(1, n + 1):
        if g == 1:
            continue
        amount = "100.01" if g == 2 else "100.00"
        out.write(f"B{g},BM{g % 1000:06d},{amount},0.60,{(start + timedelta(seconds=g % 80000)).isoformat()}\n")
    out.write(f"UNKNOWN-{variant},BM000001,5.00,0.03,{start.isoformat()}\n")
    return out.getvalue().encode()


def run(args, command: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from channels.services import channel_create
    from merchants.models import Merchant
    from settlement.models import (
        ReconciliationBreak,
        ReconciliationResult,
        ReconciliationRun,
        SettlementFile,
        Transaction,
    )
    from settlement.services.reconciliation import _copy_text, _staging_columns, settlement_file_receive
    from settlement.services.settlement_files import settlement_file_parse

    call_command("migrate", verbosity=0)
    channel = channel_create(code="bench-recon", name="Bench reconcile")[0]
    merchants = Merchant.objects.bulk_create([
        Merchant(merchant_no=f"BM{i:06d}", name=f"Bench merchant {i}", channel=channel, account_last4="1234")
        for i in range(1000)])
    merchant_ids = [m.id for m in merchants]
    start = datetime(2026, 11, 20, 0, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    table = Transaction._meta.db_table
    print(f"building {args.rows:,} swipes of {DAY} ...", flush=True)
    t0 = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute(
            f"""INSERT INTO {table} (channel_id, reference, merchant_id, amount, fee, net, currency, masked_pan,
                method, captured_at, status, resume_status, business_date, expected_by, overdue_at,
                calendar_incomplete, poll_attempts, created_at, updated_at)
            SELECT %(ch)s, 'B' || g, (%(m)s::bigint[])[1 + g %% 1000], 100.00, 0.60, 99.40, 'CNY',
                '622202******1234', 'chip', %(start)s + (g %% 80000) * interval '1 second', 'settled', '',
                %(day)s, %(start)s + interval '2 days', %(start)s + interval '2 days 2 hours', false, 0, now(), now()
            FROM generate_series(1, %(n)s) AS g""",
            {"ch": channel.id, "m": merchant_ids, "start": start, "day": DAY, "n": args.rows})
        cur.execute(f"VACUUM ANALYZE {table}")
    print(f"built in {time.perf_counter() - t0:.0f} s", flush=True)

    files = [_file(args.rows, start, v) for v in range(args.runs + 1)]
    print(f"file: {len(files[0]) / 1e6:.1f} MB, {args.rows:,} lines", flush=True)

    # --- baselines: COPY of the same lines into the staging table, and COPY of as many
    # result rows into the results table with its indexes (BENCHMARKS.md: "the table concerned")
    parsed = settlement_file_parse(raw=files[0], max_lines=args.rows + 10)
    buffer_text = _copy_text(_staging_columns(parsed))
    copy_rates, result_rates = [], []
    results_table = ReconciliationResult._meta.db_table
    for _ in range(3):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("CREATE TEMPORARY TABLE bench_copy (line integer PRIMARY KEY, reference varchar(64),"
                        " merchant_no varchar(32), terminal_sn varchar(64), amount_fen bigint, fee_fen bigint,"
                        " status varchar(20), captured_epoch bigint, fuzzy_key varchar(200)) ON COMMIT DROP")
            t0 = time.perf_counter()
            cur.copy_expert("COPY bench_copy FROM STDIN", io.StringIO(buffer_text))
            copy_rates.append(parsed.count / (time.perf_counter() - t0))
            probe = settlement_file_receive(channel=channel, raw=b"reference,amount\nP,1.00\n", business_date=DAY,
                                            source="upload").run
            rows = "".join(f"{probe.pk}\tmatched\t{i}\tB{i}\tf\t{i}\tBM000001\t100.00\t0.60\t\t100.00\t0.60\t"
                           f"settled\t\n" for i in range(1, parsed.count + 1))
            t0 = time.perf_counter()
            cur.copy_expert(f"COPY {results_table} (run_id, kind, line, reference, fuzzy, transaction_id, merchant_no,"
                            " file_amount, file_fee, file_status, our_amount, our_fee, our_status, break_key)"
                            " FROM STDIN", io.StringIO(rows))
            result_rates.append(parsed.count / (time.perf_counter() - t0))
            transaction.set_rollback(True)
    copy_rate, result_rate = statistics.median(copy_rates), statistics.median(result_rates)

    # --- end to end ------------------------------------------------------------------------
    def reset() -> None:
        with connection.cursor() as cur:
            for model in (ReconciliationBreak, ReconciliationResult, ReconciliationRun, SettlementFile):
                cur.execute(f"TRUNCATE {model._meta.db_table} CASCADE")

    timings = []
    for i, raw in enumerate(files):
        reset()
        t0 = time.perf_counter()
        receipt = settlement_file_receive(channel=channel, raw=raw, business_date=DAY, source="upload",
                                          max_lines=args.rows + 10)
        elapsed = time.perf_counter() - t0
        if i:  # the first is the warm-up
            timings.append(elapsed)
        kinds = {k: v["count"] for k, v in receipt.run.totals.items() if v["count"]}
    assert kinds == {"matched": args.rows - 2, "amount_mismatch": 1, "missing_in_file": 1, "unknown_to_us": 1}, kinds
    lines = parsed.count
    rate = lines / statistics.median(timings)
    print(f"results: {kinds}")
    print(f"COPY into the staging table: {copy_rate:,.0f} lines/s (median of 3)")
    print(f"COPY into the results table (its indexes): {result_rate:,.0f} rows/s (median of 3)")
    print(f"end to end (parse, load, match, store {lines + 1:,} results, breaks): {rate:,.0f} lines/s "
          f"(median of {len(timings)}: {', '.join(f'{t:.1f} s' for t in timings)})")
    print(f"ratio end-to-end / COPY into the results table: {rate / result_rate:.2f} (goal >= 0.2)")
    print(f"ratio end-to-end / COPY into the staging table: {rate / copy_rate:.2f}")
    print(f"command: DATABASE_URL=... {command}")


if __name__ == "__main__":
    main()
