"""Breaks: the non-matched results of reconciliation as work with a lifecycle.

new -> persisting (a later run of the same channel and date shows it again) -> resolved,
either automatically (a later run no longer shows it, or the missing file arrived) or by
staff with a reason. A staff-resolved break stays resolved when a later run shows it
again (staff decided it is fine); only its last_seen moves. Set-based, like the runs.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from settlement.models import BreakKind, ReconciliationBreak, ReconciliationResult, ReconciliationRun, ResultKind

OPEN = tuple(ReconciliationBreak.OPEN_STATUSES)
# The result kinds that are breaks, by name: the run's (run, kind) index then reads only
# them, not the run's matched rows (`kind <> 'matched'` would read them all).
_BREAK_KINDS = ", ".join(f"'{k}'" for k in ResultKind.values if k != ResultKind.MATCHED)
RESOLUTION_REASON_MAX = 300


class BreakError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def breaks_update_for_run(*, run: ReconciliationRun, now: datetime) -> None:
    """Three statements: persist the breaks seen again, open the new ones, auto-resolve the
    open ones this run no longer shows (a missing-file break included)."""
    from merchants.models import Merchant

    breaks, results, merchants = (ReconciliationBreak._meta.db_table, ReconciliationResult._meta.db_table,
                                  Merchant._meta.db_table)
    day = connection.ops.adapt_datefield_value(run.business_date)
    at = connection.ops.adapt_datetimefield_value(now)
    same = f"{breaks}.channel_id = %s AND {breaks}.business_date = %s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {breaks} SET last_seen_at = %s, last_run_id = %s, seen_count = seen_count + 1,"
            f" status = CASE WHEN status = 'resolved' THEN 'resolved' ELSE 'persisting' END"
            f" WHERE {same} AND resolution <> 'auto' AND EXISTS (SELECT 1 FROM {results} r"
            f"  WHERE r.run_id = %s AND r.kind = {breaks}.kind AND r.break_key = {breaks}.key)",
            [at, run.pk, run.channel_id, day, run.pk],
        )
        cursor.execute(
            f"INSERT INTO {breaks} (channel_id, business_date, kind, key, reference, transaction_id, merchant_id,"
            " merchant_no, amount, difference, detail, status, first_seen_at, last_seen_at, first_run_id,"
            " last_run_id, seen_count, resolution, resolved_at, resolved_by_id, resolved_by_run_id,"
            " resolution_reason)"
            " SELECT %s, %s, r.kind, r.break_key, r.reference, r.transaction_id, m.id, r.merchant_no,"
            "  COALESCE(r.file_amount, r.our_amount, 0),"
            "  CASE r.kind WHEN 'amount_mismatch' THEN r.file_amount - r.our_amount"
            "   WHEN 'fee_mismatch' THEN r.file_fee - r.our_fee WHEN 'missing_in_file' THEN -r.our_amount"
            "   WHEN 'status_mismatch' THEN 0 ELSE r.file_amount END,"
            "  CASE WHEN r.kind = 'status_mismatch' THEN r.file_status || ' / ' || r.our_status ELSE '' END,"
            "  'new', %s, %s, %s, %s, 1, '', NULL, NULL, NULL, ''"
            f" FROM {results} r LEFT JOIN {merchants} m ON m.merchant_no = r.merchant_no AND m.channel_id = %s"
            f" WHERE r.run_id = %s AND r.kind IN ({_BREAK_KINDS}) AND NOT EXISTS (SELECT 1 FROM {breaks}"
            f"  WHERE {same} AND {breaks}.kind = r.kind AND {breaks}.key = r.break_key"
            f"  AND {breaks}.resolution <> 'auto')",
            [run.channel_id, day, at, at, run.pk, run.pk, run.channel_id, run.pk, run.channel_id, day],
        )
        cursor.execute(
            f"UPDATE {breaks} SET status = 'resolved', resolution = 'auto', resolved_at = %s,"
            f" resolved_by_run_id = %s WHERE {same} AND status IN ('new', 'persisting')"
            f" AND (last_run_id IS NULL OR last_run_id <> %s)",
            [at, run.pk, run.channel_id, day, run.pk],
        )


def break_open_file_missing(*, channel_id: int, business_date: date, now: datetime, detail: str = "") -> bool:
    """The daily pull found no file in time: one break for the channel and date (idempotent)."""
    _, created = ReconciliationBreak.objects.get_or_create(
        channel_id=channel_id, business_date=business_date, kind=BreakKind.FILE_MISSING, key="file",
        resolution__in=["", "staff"],
        defaults={"first_seen_at": now, "last_seen_at": now, "detail": detail[:300]},
    )
    return created


@dataclass(frozen=True)
class BulkResolved:
    resolved: int
    skipped: int


def breaks_resolve(*, break_ids: list[int], by, reason: str, now: datetime | None = None) -> BulkResolved:
    """Staff resolve several open breaks at once with one reason; already resolved ones are
    skipped (counted), never overwritten."""
    reason = (reason or "").strip()
    if not reason:
        raise BreakError("reason_required", "Give a reason for resolving these breaks.")
    if len(reason) > RESOLUTION_REASON_MAX:
        raise BreakError("reason_too_long", f"The reason may be at most {RESOLUTION_REASON_MAX} characters.")
    ids = sorted({int(i) for i in break_ids})
    if not ids:
        raise BreakError("nothing_selected", "Select at least one break.")
    now = now or timezone.now()
    with transaction.atomic():
        resolved = ReconciliationBreak.objects.filter(pk__in=ids, status__in=OPEN).update(
            status=ReconciliationBreak.Status.RESOLVED, resolution=ReconciliationBreak.Resolution.STAFF,
            resolved_at=now, resolved_by=by, resolution_reason=reason,
        )
    return BulkResolved(resolved=resolved, skipped=len(ids) - resolved)


def breaks_for_transactions(transaction_ids) -> QuerySet:
    return ReconciliationBreak.objects.filter(transaction_id__in=transaction_ids).order_by("-first_seen_at")
