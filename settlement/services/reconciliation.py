"""Reconciliation (对账): store a settlement file once, reconcile it in a stored run, and
keep the breaks (non-matched results) as work across runs.

Matching is set-based: the parsed lines go into a temporary staging table (COPY on
PostgreSQL, one executemany elsewhere) and every result is written by a handful of
INSERT ... SELECT joins (on PostgreSQL each also returns its totals, so the results are
not read back), so the number of queries does not grow with the file.
"""

import hashlib
import io
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from channels.models import Channel
from settlement.models import (
    ReconciliationBreak,
    ReconciliationResult,
    ReconciliationRun,
    ResultKind,
    SettlementFile,
)
from settlement.services.recon_breaks import breaks_update_for_run
from settlement.services.settlement_files import FIELDS, ParsedFile, SettlementFileError, settlement_file_parse

__all__ = ["FileReceipt", "SettlementFileError", "run_answer", "settlement_file_receive"]

_CENT = Decimal("0.01")
_STAGING_COLUMNS = ("line", "reference", "merchant_no", "terminal_sn", "amount_fen", "fee_fen", "status",
                    "captured_epoch", "fuzzy_key")


@dataclass(frozen=True)
class FileReceipt:
    file: SettlementFile
    run: ReconciliationRun
    duplicate: bool


def settlement_file_receive(
    *, channel: Channel, raw: bytes, business_date: date, source: str, filename: str = "", by=None,
    max_lines: int | None = None, now: datetime | None = None,
) -> FileReceipt:
    """Store and reconcile one file. The same bytes again are a duplicate (the first run is
    answered); other bytes for a date that already has a file supersede it. Raises
    SettlementFileError (nothing stored) for a file we cannot read."""
    content_hash = hashlib.sha256(raw).hexdigest()
    earlier = _known(channel, content_hash)
    if earlier:
        return earlier
    parsed = settlement_file_parse(raw=raw, filename=filename, tz=channel.timezone,
                                   max_lines=max_lines or settings.RECON_MAX_FILE_LINES)
    now = now or timezone.now()
    try:
        with transaction.atomic():
            previous = (SettlementFile.objects.select_for_update()
                        .filter(channel=channel, business_date=business_date, is_current=True).first())
            if previous:
                SettlementFile.objects.filter(pk=previous.pk).update(is_current=False)
            stored = SettlementFile.objects.create(
                channel=channel, business_date=business_date, content_hash=content_hash, content=raw,
                format=parsed.format, encoding=parsed.encoding, filename=filename[:200], source=source,
                line_count=parsed.count, supersedes=previous, received_at=now, uploaded_by=by,
            )
            run = _reconcile(stored, parsed, now=now)
            breaks_update_for_run(run=run, now=now)
    except IntegrityError:
        # Two deliveries raced: the same bytes are the other one's duplicate.
        earlier = _known(channel, content_hash)
        if earlier:
            return earlier
        raise SettlementFileError("conflict", "Another file for this date was stored at the same time; "
                                  "send it again.") from None
    return FileReceipt(stored, run, duplicate=False)


def _known(channel: Channel, content_hash: str) -> FileReceipt | None:
    stored = SettlementFile.objects.filter(channel=channel, content_hash=content_hash).select_related("run").first()
    return FileReceipt(stored, stored.run, duplicate=True) if stored else None


# --- the run ------------------------------------------------------------------------
def _reconcile(stored: SettlementFile, parsed: ParsedFile, *, now: datetime) -> ReconciliationRun:
    run = ReconciliationRun.objects.create(
        file=stored, channel_id=stored.channel_id, business_date=stored.business_date, started_at=now,
        finished_at=now, line_count=parsed.count, file_total=0, our_total=0,
    )
    with connection.cursor() as cursor:
        _stage(cursor, parsed)
        try:
            _match_fuzzy(cursor, channel_id=stored.channel_id)
            rows = _write_results(cursor, run=run)
        finally:
            cursor.execute("DROP TABLE IF EXISTS recon_line")
            cursor.execute("DROP TABLE IF EXISTS recon_fuzzy")
    _store_totals(run, rows)
    return run


def _stage(cursor, parsed: ParsedFile) -> None:
    cursor.execute("DROP TABLE IF EXISTS recon_line")
    cursor.execute("DROP TABLE IF EXISTS recon_fuzzy")
    # Capture times as UNIX seconds: cheap to load, and the same arithmetic on both databases.
    cursor.execute(
        "CREATE TEMPORARY TABLE recon_line (line integer, reference varchar(64), merchant_no varchar(32),"
        " terminal_sn varchar(64), amount_fen bigint, fee_fen bigint, status varchar(20), captured_epoch bigint,"
        " fuzzy_key varchar(200))"
    )
    # No key (each line is one row by construction; a key would only slow the COPY down).
    # The few swipes matched without a reference, found before the results are written.
    cursor.execute("CREATE TEMPORARY TABLE recon_fuzzy (line integer, txn_id bigint, amount decimal(14, 2),"
                   " fee decimal(14, 2), status varchar(10), merchant_id bigint)")
    columns = _staging_columns(parsed)
    if connection.vendor == "postgresql":
        # Hash joins and sorts of a million rows in memory rather than in batches on disk.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.copy_expert(f"COPY recon_line ({', '.join(_STAGING_COLUMNS)}) FROM STDIN",
                           io.StringIO(_copy_text(columns)))
        cursor.execute("ANALYZE recon_line")
    else:
        cursor.executemany(
            f"INSERT INTO recon_line ({', '.join(_STAGING_COLUMNS)}) VALUES ({', '.join(['%s'] * 9)})",
            list(zip(*columns, strict=True)))


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_NULL = "\\N"
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_TEXT_COLUMNS = {i for i, name in enumerate(_STAGING_COLUMNS)
                 if name in ("reference", "merchant_no", "terminal_sn", "status", "fuzzy_key")}


def _copy_text(columns: list[list]) -> str:
    """The staging rows in COPY's text format (NULL is \\N; text is escaped only when it
    must be), built a column at a time."""
    if not columns[0]:
        return ""
    out = []
    for position, values in enumerate(columns):
        if position in _TEXT_COLUMNS:
            if _COPY_SPECIAL.search("".join(values)):
                values = [v.translate(_COPY_ESCAPES) for v in values]
        elif None in values:
            values = [_NULL if v is None else str(v) for v in values]
        else:
            values = list(map(str, values))
        out.append(values)
    return "\n".join(map("\t".join, zip(*out, strict=True))) + "\n"


def _staging_columns(parsed: ParsedFile) -> list[list]:
    """The staging table's columns: the parsed ones, with each reference-less line's key."""
    cols = parsed.columns
    references = cols["reference"]
    keys = [""] * len(references)
    if not all(references):
        # Lines without a reference are told apart by what they say, then by order.
        seen: Counter = Counter()
        for i, reference in enumerate(references):
            if not reference:
                base = f"{cols['merchant_no'][i]}|{cols['terminal_sn'][i]}|{cols['amount_fen'][i]}|" \
                       f"{cols['captured_key'][i]}"
                seen[base] += 1
                keys[i] = f"{base}#{seen[base]}"
    return [cols[name] for name in FIELDS[:-1]] + [keys]


def _fen(column: str) -> str:
    return f"CAST(ROUND({column} * 100) AS BIGINT)"


_RANK = "CASE {0} WHEN 'captured' THEN 0 WHEN 'cleared' THEN 1 WHEN 'settled' THEN 2 WHEN 'credited' THEN 3 ELSE -1 END"


def _match_fuzzy(cursor, *, channel_id: int) -> None:
    """recon_fuzzy: the swipe (if any) of each line without a reference."""
    txn, merchant, terminal = _tables()
    if connection.vendor == "postgresql":
        epoch = "CAST(extract(epoch FROM t.captured_at) AS bigint)"
        window = ("t.captured_at BETWEEN to_timestamp(l.captured_epoch - %(tol)s)"
                  " AND to_timestamp(l.captured_epoch + %(tol)s)")
    else:
        epoch = "CAST(strftime('%%s', t.captured_at) AS INTEGER)"
        window = f"{epoch} BETWEEN l.captured_epoch - %(tol)s AND l.captured_epoch + %(tol)s"
    distance = f"abs({epoch} - l.captured_epoch)"
    # Fuzzy: the closest swipe of the same merchant (and terminal, when the file names one)
    # with the same amount within the tolerance, not named by any line's reference; each
    # swipe goes to its closest line.
    cursor.execute(
        "INSERT INTO recon_fuzzy (line, txn_id, amount, fee, status, merchant_id)"
        " SELECT w.line, w.txn_id, w.amount, w.fee, w.status, w.merchant_id FROM ("
        "  SELECT c.*, row_number() OVER (PARTITION BY c.txn_id ORDER BY c.dist, c.line) AS by_txn"
        "  FROM (SELECT l.line, t.id AS txn_id, t.amount, t.fee, t.status, t.merchant_id, " + distance + " AS dist,"
        "    row_number() OVER (PARTITION BY l.line ORDER BY " + distance + ", t.id) AS by_line"
        f"   FROM recon_line l JOIN {merchant} m ON m.merchant_no = l.merchant_no AND m.channel_id = %(channel)s"
        f"   JOIN {txn} t ON t.merchant_id = m.id AND t.channel_id = %(channel)s"
        "     AND " + window + " AND " + _fen("t.amount") + " = l.amount_fen"
        f"   LEFT JOIN {terminal} term ON term.id = t.terminal_id"
        "   WHERE l.reference = '' AND (l.terminal_sn = '' OR term.serial_number = l.terminal_sn)"
        "     AND NOT EXISTS (SELECT 1 FROM recon_line x WHERE x.reference <> '' AND x.reference = t.reference)) c"
        "  WHERE c.by_line = 1) w WHERE w.by_txn = 1",
        {"channel": channel_id, "tol": settings.RECON_FUZZY_TOLERANCE_SECONDS},
    )


_RESULT_COLUMNS = ("run_id, kind, line, reference, fuzzy, transaction_id, merchant_no, file_amount, file_fee,"
                   " file_status, our_amount, our_fee, our_status, break_key")


def _write_results(cursor, *, run: ReconciliationRun) -> list[tuple]:
    """Two INSERT ... SELECTs: a result per line (its swipe by reference, or the fuzzy one),
    then one per swipe no line names. Returns the totals rows (kind, count, file sum, our
    sum, fuzzy count); on PostgreSQL computed by the inserts themselves."""
    txn, merchant, _ = _tables()
    results = ReconciliationResult._meta.db_table
    compatible = (f"(l.status = x.status OR ({_RANK.format('l.status')} >= 0"
                  f" AND {_RANK.format('x.status')} >= {_RANK.format('l.status')}))")
    lines = (
        f"INSERT INTO {results} ({_RESULT_COLUMNS})"
        " SELECT %s, k.kind, k.line, k.reference, k.fuzzy, k.txn_id, k.merchant_no, k.file_amount, k.file_fee,"
        "  k.status, k.our_amount, k.our_fee, k.our_status,"
        "  CASE WHEN k.kind = 'matched' THEN '' WHEN k.kind = 'duplicate_in_file' THEN k.reference || '#' || k.dup_no"
        "   WHEN k.reference = '' THEN k.fuzzy_key ELSE k.reference END"
        " FROM (SELECT l.line, l.reference, l.status, l.fuzzy_key, x.dup_no, x.txn_id, x.fuzzy,"
        "   COALESCE(m.merchant_no, l.merchant_no) AS merchant_no,"
        "   l.amount_fen / 100.0 AS file_amount, l.fee_fen / 100.0 AS file_fee,"
        "   CASE WHEN x.dup_no > 1 THEN NULL ELSE x.amount END AS our_amount,"
        "   CASE WHEN x.dup_no > 1 THEN NULL ELSE x.fee END AS our_fee, COALESCE(x.status, '') AS our_status,"
        "   CASE WHEN x.dup_no > 1 THEN 'duplicate_in_file' WHEN x.txn_id IS NULL THEN 'unknown_to_us'"
        f"    WHEN l.amount_fen <> {_fen('x.amount')} THEN 'amount_mismatch'"
        f"    WHEN l.fee_fen IS NOT NULL AND l.fee_fen <> {_fen('x.fee')} THEN 'fee_mismatch'"
        f"    WHEN l.status <> '' AND NOT {compatible} THEN 'status_mismatch'"
        "    ELSE 'matched' END AS kind"
        "  FROM recon_line l JOIN ("
        # Each line's swipe: by reference (with its occurrence of the reference), else fuzzy.
        "   SELECT r.line, r.rn AS dup_no, t.id AS txn_id, false AS fuzzy, t.amount, t.fee, t.status,"
        "    t.merchant_id FROM (SELECT line, reference,"
        "     row_number() OVER (PARTITION BY reference ORDER BY line) AS rn FROM recon_line WHERE reference <> '') r"
        f"    LEFT JOIN {txn} t ON t.channel_id = %s AND t.reference = r.reference"
        "   UNION ALL"
        "   SELECT l2.line, 1, f.txn_id, f.txn_id IS NOT NULL, f.amount, f.fee, f.status, f.merchant_id"
        "    FROM recon_line l2 LEFT JOIN recon_fuzzy f ON f.line = l2.line WHERE l2.reference = ''"
        "  ) x ON x.line = l.line"
        f"  LEFT JOIN {merchant} m ON m.id = x.merchant_id) k"
    )
    # Our swipes of that channel and date the file does not list (a reversed swipe moved no money).
    missing = (
        f"INSERT INTO {results} ({_RESULT_COLUMNS})"
        " SELECT %s, 'missing_in_file', NULL, t.reference, false, t.id, m.merchant_no, NULL, NULL, '',"
        "  t.amount, t.fee, t.status, t.reference"
        f" FROM {txn} t JOIN {merchant} m ON m.id = t.merchant_id"
        " WHERE t.channel_id = %s AND t.business_date = %s AND t.status <> 'reversed'"
        "  AND NOT EXISTS (SELECT 1 FROM recon_line l WHERE l.reference <> '' AND l.reference = t.reference)"
        "  AND NOT EXISTS (SELECT 1 FROM recon_fuzzy f WHERE f.txn_id = t.id)"
    )
    day = connection.ops.adapt_datefield_value(run.business_date)
    statements = [(lines, [run.pk, run.channel_id]), (missing, [run.pk, run.channel_id, day])]
    totals = "kind, COUNT(*), SUM(file_amount), SUM(our_amount), SUM(CASE WHEN fuzzy THEN 1 ELSE 0 END)"
    rows = []
    if connection.vendor == "postgresql":
        # The totals from the rows as they are inserted, not by reading them back.
        for sql, params in statements:
            cursor.execute(f"WITH ins AS ({sql} RETURNING kind, file_amount, our_amount, fuzzy)"
                           f" SELECT {totals} FROM ins GROUP BY kind", params)
            rows += cursor.fetchall()
        return rows
    for sql, params in statements:
        cursor.execute(sql, params)
    cursor.execute(f"SELECT {totals} FROM {results} WHERE run_id = %s GROUP BY kind", [run.pk])
    return cursor.fetchall()


def _tables() -> tuple[str, str, str]:
    from merchants.models import Merchant, Terminal
    from settlement.models import Transaction

    return Transaction._meta.db_table, Merchant._meta.db_table, Terminal._meta.db_table


def _store_totals(run: ReconciliationRun, rows: list[tuple]) -> None:
    """rows: (kind, count, file sum, our sum, fuzzy count), possibly several per kind."""
    totals = {kind: {"count": 0, "file": "0.00", "ours": "0.00"} for kind in ResultKind.values}
    file_total = our_total = Decimal("0.00")
    fuzzy = 0
    for kind, count, theirs, ours, fuzzy_count in rows:
        theirs, ours = _money(theirs), _money(ours)
        file_total += theirs
        our_total += ours
        known = totals[kind]
        totals[kind] = {"count": known["count"] + count, "file": str(Decimal(known["file"]) + theirs),
                        "ours": str(Decimal(known["ours"]) + ours)}
        fuzzy += int(fuzzy_count or 0)
    run.totals, run.file_total, run.our_total, run.fuzzy_matches = totals, file_total, our_total, fuzzy
    run.finished_at = timezone.now()
    run.save(update_fields=["totals", "file_total", "our_total", "fuzzy_matches", "finished_at"])


def _money(value) -> Decimal:
    # SQLite sums decimals as floats; two places are what they mean.
    return Decimal(str(value or 0)).quantize(_CENT)


def run_differences(result: ReconciliationResult) -> dict[str, dict[str, str]]:
    """What differs on one result, ours and theirs (the API's `differences`)."""
    out = {}
    if result.kind == ResultKind.AMOUNT_MISMATCH:
        out["amount"] = {"ours": str(result.our_amount), "theirs": str(result.file_amount)}
    if result.kind == ResultKind.FEE_MISMATCH:
        out["fee"] = {"ours": str(result.our_fee), "theirs": str(result.file_fee)}
    if result.kind == ResultKind.STATUS_MISMATCH:
        out["status"] = {"ours": result.our_status, "theirs": result.file_status}
    return out


def break_open_count(*, channel: Channel, business_date: date) -> int:
    return ReconciliationBreak.objects.filter(channel=channel, business_date=business_date,
                                              status__in=ReconciliationBreak.OPEN_STATUSES).count()


def run_answer(receipt: FileReceipt, *, with_results: bool = True) -> dict:
    """The API's (and the upload page's) account of a run."""
    run, stored = receipt.run, receipt.file
    answer = {
        "run": run.pk, "file": stored.pk, "duplicate": receipt.duplicate, "supersedes": stored.supersedes_id,
        "business_date": run.business_date.isoformat(), "encoding": stored.encoding, "lines": run.line_count,
        "file_total": str(run.file_total), "our_total": str(run.our_total), "fuzzy_matches": run.fuzzy_matches,
        "totals": run.totals,
    }
    if with_results:
        answer["results"] = [
            {"line": r.line, "reference": r.reference, "result": r.kind, "fuzzy": r.fuzzy,
             "differences": run_differences(r)}
            for r in run.results.order_by(F("line").asc(nulls_last=True), "reference", "id")
        ]
    return answer
