"""Set-based creation of pushed swipes: a batch costs a constant number of statements.

1. the batch's merchants (by merchant_no, this channel only) and their terminals;
2. one INSERT ... ON CONFLICT (channel, reference) DO NOTHING RETURNING id, reference:
   the database decides which references are new, so two concurrent pushes of the same
   swipe create it once;
3. one INSERT of the new rows' `captured` events;
4. one SELECT of the rows that already existed, to answer `duplicate` with what we know
   (or `idempotency_conflict` when the same reference came with another swipe).
Fee, net and expected arrival come from build_transaction (schedule_fields), as for
every other way a swipe is created.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import Model
from django.db.models.constants import OnConflict
from django.db.models.sql import InsertQuery
from django.utils import timezone

from channels.models import Channel
from channels.selectors import business_days_for
from merchants.models import Merchant, Terminal
from settlement.models import SettlementEvent, Transaction
from settlement.services.transactions import NewTransaction, TransactionError, build_transaction, captured_event


@dataclass(frozen=True)
class SwipeInput:
    reference: str
    merchant_no: str
    amount: Decimal
    captured_at: datetime
    terminal_sn: str = ""
    masked_pan: str = ""
    method: str = Transaction.Method.CHIP
    currency: str = "CNY"


@dataclass
class SwipeResult:
    reference: str
    result: str  # created / duplicate / rejected
    code: str = ""
    message: str = ""
    transaction: dict[str, Any] | None = None


# What `duplicate` answers with: the stored swipe, read as plain values.
TRANSACTION_VALUES = (
    "id", "reference", "merchant__merchant_no", "terminal__serial_number", "amount", "fee", "net", "currency",
    "masked_pan", "method", "captured_at", "status", "business_date", "expected_by", "calendar_incomplete",
    "payout__reference",
)


def transaction_values(txn: Transaction) -> dict[str, Any]:
    """The same shape as TRANSACTION_VALUES, from an in-memory row."""
    return {
        "id": txn.pk, "reference": txn.reference, "merchant__merchant_no": txn.merchant.merchant_no,
        "terminal__serial_number": txn.terminal.serial_number if txn.terminal else None,
        "amount": txn.amount, "fee": txn.fee, "net": txn.net, "currency": txn.currency,
        "masked_pan": txn.masked_pan, "method": txn.method, "captured_at": txn.captured_at,
        "status": txn.status, "business_date": txn.business_date, "expected_by": txn.expected_by,
        "calendar_incomplete": txn.calendar_incomplete, "payout__reference": None,
    }


def insert_ignoring_conflicts(model: type[Model], objs: list[Model], returning: list[str]) -> list[tuple]:
    """One INSERT ... ON CONFLICT DO NOTHING RETURNING <returning> for all objs.

    Django's bulk_create(ignore_conflicts=True) does not say which rows went in; this
    builds the same statement through Django's own insert compiler (so every field is
    prepared as bulk_create would) and adds RETURNING.
    """
    if not objs:
        return []
    opts = model._meta
    fields = [f for f in opts.concrete_fields if not f.generated and f is not opts.auto_field]
    query = InsertQuery(model, on_conflict=OnConflict.IGNORE)
    query.insert_values(fields, objs)
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [opts.get_field(name) for name in returning]
    [(sql, params)] = compiler.as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _same_swipe(row: dict[str, Any], item: SwipeInput) -> bool:
    return (
        row["merchant__merchant_no"] == item.merchant_no
        and row["amount"] == item.amount
        and row["captured_at"] == item.captured_at
    )


@db_transaction.atomic
def transactions_ingest(
    *, channel: Channel, items: list[SwipeInput], source: str = SettlementEvent.Source.PUSH,
    now: datetime | None = None,
) -> list[SwipeResult]:
    """Create pushed swipes; one result per item, in order. Safe to retry and to run
    concurrently: the (channel, reference) unique constraint decides what is new."""
    now = now or timezone.now()
    merchants = {
        m.merchant_no: m
        for m in Merchant.objects.filter(channel=channel, merchant_no__in={i.merchant_no for i in items})
    }
    wanted_terminals = {(i.merchant_no, i.terminal_sn) for i in items if i.terminal_sn and i.merchant_no in merchants}
    terminals: dict[tuple[str, str], Terminal] = {}
    if wanted_terminals:
        merchant_no_by_id = {m.pk: no for no, m in merchants.items()}
        for terminal in Terminal.objects.filter(
            merchant_id__in={merchants[no].pk for no, _ in wanted_terminals},
            serial_number__in={sn for _, sn in wanted_terminals},
        ):
            terminals[(merchant_no_by_id[terminal.merchant_id], terminal.serial_number)] = terminal
    days = business_days_for(channel.calendar_id)

    results: list[SwipeResult] = []
    built: dict[str, Transaction] = {}  # reference -> row to insert (first occurrence wins)
    for item in items:
        result = SwipeResult(item.reference, "created")
        results.append(result)
        merchant = merchants.get(item.merchant_no)
        if merchant is None:
            result.result, result.code = "rejected", "unknown_merchant"
            result.message = "No merchant with this merchant_no on this channel."
            continue
        terminal = None
        if item.terminal_sn:
            terminal = terminals.get((item.merchant_no, item.terminal_sn))
            if terminal is None:
                result.result, result.code = "rejected", "unknown_terminal"
                result.message = "No terminal with this serial for the merchant."
                continue
        if item.reference in built:
            continue  # a repeat inside the batch: judged with the stored rows below
        try:
            built[item.reference] = build_transaction(
                channel=channel, days=days, now=now,
                item=NewTransaction(
                    reference=item.reference, merchant=merchant, amount=item.amount, captured_at=item.captured_at,
                    terminal=terminal, masked_pan=item.masked_pan, method=item.method, currency=item.currency,
                ),
            )
        except TransactionError as exc:
            result.result, result.code, result.message = "rejected", exc.code, exc.message

    # Inserted in reference order, so two overlapping batches wait for each other on the
    # unique index instead of deadlocking.
    rows = sorted(built.values(), key=lambda t: t.reference)
    inserted = {reference: pk for pk, reference in insert_ignoring_conflicts(Transaction, rows, ["id", "reference"])}
    new_rows = []
    for reference, pk in inserted.items():
        txn = built[reference]
        txn.pk = txn.id = pk
        txn._state.adding = False
        new_rows.append(captured_event(txn, source=source, now=now))
    if new_rows:
        SettlementEvent.objects.bulk_create(new_rows, ignore_conflicts=True)

    existing_refs = {r.reference for r in results if r.result != "rejected"} - set(inserted)
    existing = {}
    if existing_refs:
        existing = {
            row["reference"]: row
            for row in Transaction.objects.filter(channel=channel, reference__in=existing_refs).values(
                *TRANSACTION_VALUES
            )
        }

    answered: set[str] = set()
    for item, result in zip(items, results, strict=True):
        if result.result == "rejected":
            continue
        if item.reference in inserted and item.reference not in answered:
            answered.add(item.reference)
            result.transaction = transaction_values(built[item.reference])
            continue
        # Already stored before this batch, or a repeat inside it.
        row = existing.get(item.reference) or (
            transaction_values(built[item.reference]) if item.reference in inserted else None
        )
        if row is None:  # pragma: no cover - a row cannot vanish inside the transaction
            result.result, result.code, result.message = "rejected", "conflict", "Please retry."
            continue
        if _same_swipe(row, item):
            result.result, result.transaction = "duplicate", row
        else:
            result.result, result.code = "rejected", "idempotency_conflict"
            result.message = "This reference was already used for another swipe."
    return results

