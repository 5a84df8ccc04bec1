"""Payouts (合并到账): one bank credit covering many swipes of one merchant.

`payout_upsert` is the payout door: the only writer of a payout. Its status moves
only as settlement.payout_lifecycle allows, every change is a PayoutEvent row, a late
older status is stored as stale and changes nothing (neither status nor amount nor
swipes). The swipe set follows settlement.services.payout_links; after each post the
credited-by-swipes rule and the discrepancy check run (services.payout_rules).
Linking never changes a swipe's status: that moves only through events.

Locks: the post's swipes first, then its payouts in id order, the same order as the
swipe-event side (payout_links), so a post and an event batch cannot deadlock.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction as db_transaction
from django.db.models import Q
from django.utils import timezone

from channels.models import Channel
from merchants.models import Merchant
from settlement.models import Payout, PayoutDiscrepancy, PayoutEvent, PayoutLine, Transaction
from settlement.payout_lifecycle import PayoutStatus, Verdict, payout_judge
from settlement.services.discrepancies import SwipeTotals, lines_explained
from settlement.services.payout_links import LINK_DROPPED, LINK_LISTED, LINK_WAITED, Move, moves_write
from settlement.services.payout_rules import payouts_after_change, swipe_totals

MAX_CLOCK_SKEW = timedelta(minutes=5)  # as for swipe events
MAX_LINES = 100
_NON_POSITIVE = {PayoutLine.Kind.FEE, PayoutLine.Kind.REFUND, PayoutLine.Kind.RESERVE}


class PayoutError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PayoutLineInput:
    """One itemised line; signed: a deduction is negative."""

    kind: str
    amount: Decimal
    label: str = ""
    release_date: date | None = None

    def key(self) -> tuple:
        return (self.kind, self.amount, self.label, self.release_date)


@dataclass(frozen=True)
class PayoutInput:
    reference: str
    merchant_no: str
    amount: Decimal
    status: str
    # None: the post says nothing about its swipes. A tuple (even empty) is the whole set.
    transaction_references: tuple[str, ...] | None = None
    sent_at: datetime | None = None
    credited_at: datetime | None = None
    currency: str = "CNY"
    # When the reported status happened; default credited_at / sent_at for those, else now.
    occurred_at: datetime | None = None
    # None: the post says nothing about lines. A tuple (even empty) replaces them all.
    lines: tuple[PayoutLineInput, ...] | None = None


@dataclass
class PayoutResult:
    payout: Payout
    created: bool
    net_total: Decimal
    transaction_count: int
    outcome: str = Verdict.APPLIED  # of the reported status: applied / stale / unchanged
    rejected: list[dict] = field(default_factory=list)
    stored_discrepancy: PayoutDiscrepancy | None = None
    explained: Decimal = Decimal("0.00")  # what its lines explain (refunds, reserve, ...)

    @property
    def discrepancy(self) -> Decimal:
        """Payout amount minus the net of the swipes it covers and what its lines explain;
        zero when it adds up."""
        return self.payout.amount - self.net_total - self.explained


def _status_time(data: PayoutInput, now: datetime) -> datetime:
    if data.occurred_at is not None:
        return data.occurred_at
    if data.status == PayoutStatus.CREDITED and data.credited_at is not None:
        return data.credited_at
    if data.status == PayoutStatus.SENT and data.sent_at is not None:
        return data.sent_at
    return now


def _validate(data: PayoutInput, now: datetime) -> None:
    if data.status not in PayoutStatus.values:
        raise PayoutError("invalid_status", f"Unknown payout status {data.status!r}.")
    for name in ("occurred_at", "sent_at", "credited_at"):
        value = getattr(data, name)
        if value is None:
            continue
        if value.tzinfo is None:
            raise PayoutError("naive_datetime", f"{name} needs a UTC offset.")
        if value > now + MAX_CLOCK_SKEW:
            raise PayoutError("occurred_in_future", f"{name} is in the future.")
    for i, line in enumerate(data.lines or ()):
        problem = _line_problem(line)
        if problem:
            raise PayoutError("invalid_line", f"lines[{i}]: {problem}")
    if data.lines is not None and len(data.lines) > MAX_LINES:
        raise PayoutError("invalid_line", f"At most {MAX_LINES} lines.")


def _line_problem(line: PayoutLineInput) -> str:
    if line.kind not in PayoutLine.Kind.values:
        return f"unknown kind {line.kind!r}."
    if line.kind == PayoutLine.Kind.SWIPES and line.amount < 0:
        return "a swipes line is not negative."
    if line.kind in _NON_POSITIVE and line.amount > 0:
        return f"a {line.kind} line is a deduction: zero or negative."
    if line.release_date is not None and line.kind != PayoutLine.Kind.RESERVE:
        return "only a reserve line has a release_date."
    if line.kind == PayoutLine.Kind.ADJUSTMENT and not line.label.strip():
        return "an adjustment line needs a label."
    if len(line.label) > 100 or "\x00" in line.label:
        return "label: at most 100 characters, no NUL."
    return ""


@db_transaction.atomic
def payout_upsert(
    *, channel: Channel, data: PayoutInput, source: str = PayoutEvent.Source.PUSH, now: datetime | None = None
) -> PayoutResult:
    now = now or timezone.now()
    _validate(data, now)
    merchant = Merchant.objects.filter(channel=channel, merchant_no=data.merchant_no).first()
    if merchant is None:
        raise PayoutError("unknown_merchant", "No merchant with this merchant_no on this channel.")
    at = _status_time(data, now)
    refs = tuple(dict.fromkeys(data.transaction_references)) if data.transaction_references is not None else None

    # The swipes this post can touch: those it names, those linked to the payout now, and
    # those waiting for it. Locked before the payouts (see the module docstring).
    swipes = list(
        Transaction.objects.select_for_update(of=("self",))
        .filter(Q(reference__in=refs or ()) | Q(payout__reference=data.reference)
                | Q(pending_payout_reference=data.reference), channel=channel)
        .order_by("id")
        .only("id", "reference", "merchant_id", "payout_id", "pending_payout_reference")
    )
    held = {
        p.pk: p
        for p in Payout.objects.select_for_update()
        .filter(Q(channel=channel, reference=data.reference) | Q(id__in={s.payout_id for s in swipes if s.payout_id}))
        .order_by("id")
    }
    payout = next((p for p in held.values() if p.channel_id == channel.pk and p.reference == data.reference), None)
    created = payout is None
    if created:
        payout, created = Payout.objects.select_for_update().get_or_create(
            channel=channel, reference=data.reference, defaults=_new_payout(data, merchant=merchant, at=at),
        )
        held[payout.pk] = payout
    if payout.merchant_id != merchant.pk:
        raise PayoutError("payout_merchant_mismatch", "This payout_reference belongs to another merchant.")

    trail: list[PayoutEvent] = []
    if created:
        outcome = Verdict.APPLIED
        trail.append(_status_row(payout, source, "", payout.status, at, now, data))
    else:
        outcome = payout_judge(current=payout.status, current_at=payout.status_at, new=data.status, new_at=at)
        if outcome == Verdict.STALE:
            PayoutEvent.objects.create(**_status_fields(payout, source, payout.status, data.status, at, now, data,
                                                        outcome=PayoutEvent.Outcome.STALE))
            return _result(payout, created=False, outcome=outcome, rejected=[])
        _apply(payout, data, outcome=outcome, at=at, now=now, source=source, trail=trail)

    _lines_replace(payout, data, at=at, now=now, source=source, trail=trail)
    rejected, moves = _relink(payout=payout, swipes=swipes, refs=refs, held=held, at=at)
    moves_write(moves=moves, source=source, now=now)
    PayoutEvent.objects.bulk_create(trail)
    resized = {pk for m in moves if m.old != m.new for pk in (m.old, m.new) if pk is not None}
    affected = [held[pk] for pk in sorted(resized | {payout.pk}) if pk in held]
    totals, found = payouts_after_change(channel=channel, payouts=affected, recheck=resized | {payout.pk}, now=now)
    return _result(payout, created=created, outcome=outcome, rejected=rejected, totals=totals.get(payout.pk),
                   found=found)


def _new_payout(data: PayoutInput, *, merchant: Merchant, at: datetime) -> dict:
    return {
        "merchant": merchant, "amount": data.amount, "currency": data.currency, "status": data.status,
        "status_at": at,
        "sent_at": data.sent_at or (at if data.status == PayoutStatus.SENT else None),
        "credited_at": (data.credited_at or at) if data.status == PayoutStatus.CREDITED else None,
    }


def _status_fields(payout, source, old, new, at, now, data, *, outcome=PayoutEvent.Outcome.APPLIED) -> dict:
    return {
        "payout": payout, "kind": PayoutEvent.Kind.STATUS, "source": source, "outcome": outcome,
        "from_status": old, "to_status": new, "occurred_at": at, "recorded_at": now,
        "payload": {"amount": str(data.amount),
                    **({"references": len(data.transaction_references)} if data.transaction_references is not None
                       else {})},
    }


def _status_row(payout, source, old, new, at, now, data) -> PayoutEvent:
    return PayoutEvent(**_status_fields(payout, source, old, new, at, now, data))


def _apply(payout: Payout, data: PayoutInput, *, outcome: str, at: datetime, now: datetime, source: str,
           trail: list[PayoutEvent]) -> None:
    fields = []
    if outcome == Verdict.APPLIED:
        trail.append(_status_row(payout, source, payout.status, data.status, at, now, data))
        payout.status, payout.status_at = data.status, at
        fields += ["status", "status_at"]
        if data.status == PayoutStatus.CREDITED:
            payout.credited_at = data.credited_at or at
            fields.append("credited_at")
        elif data.status == PayoutStatus.SENT:
            payout.sent_at = data.sent_at or at
            fields.append("sent_at")
    if data.amount != payout.amount:
        trail.append(PayoutEvent(
            payout=payout, kind=PayoutEvent.Kind.AMENDED, source=source, occurred_at=at, recorded_at=now,
            payload={"amount": [str(payout.amount), str(data.amount)]},
        ))
        payout.amount = data.amount
        fields.append("amount")
    if fields:
        payout.updated_at = now
        payout.save(update_fields=[*fields, "updated_at"])


def _lines_replace(payout: Payout, data: PayoutInput, *, at: datetime, now: datetime, source: str,
                   trail: list[PayoutEvent]) -> None:
    """A post that sends lines replaces them all, when they differ (an amended event)."""
    if data.lines is None:
        return
    old = [(line.kind, line.amount, line.label, line.release_date) for line in payout.lines.order_by("position")]
    new = [line.key() for line in data.lines]
    if old == new:
        return
    payout.lines.all().delete()
    PayoutLine.objects.bulk_create([
        PayoutLine(payout=payout, position=i, kind=kind, amount=amount, label=label, release_date=release)
        for i, (kind, amount, label, release) in enumerate(new)
    ])
    trail.append(PayoutEvent(payout=payout, kind=PayoutEvent.Kind.AMENDED, source=source, occurred_at=at,
                             recorded_at=now, payload={"lines": [len(old), len(new)]}))


def _relink(*, payout: Payout, swipes: list[Transaction], refs: tuple[str, ...] | None, held: dict[int, Payout],
            at: datetime) -> tuple[list[dict], list[Move]]:
    """The post's statement about its swipes, as moves; one answer per reference we
    could not link."""
    rejected: list[dict] = []
    moves: list[Move] = []
    if refs is None:
        # No list: the swipes whose events named this payout before it existed join it.
        for s in swipes:
            if s.pending_payout_reference == payout.reference and s.merchant_id == payout.merchant_id:
                moves.append(Move(s.pk, s.payout_id, payout.pk, LINK_WAITED, at, pending=""))
        return rejected, [m for m in moves if m.old != m.new or m.pending is not None]
    by_ref = {s.reference: s for s in swipes}
    named = set(refs)
    for reference in refs:
        s = by_ref.get(reference)
        if s is None:
            rejected.append({"reference": reference, "code": "unknown_reference",
                             "message": "No transaction with this reference on this channel."})
        elif s.merchant_id != payout.merchant_id:
            rejected.append({"reference": reference, "code": "merchant_mismatch",
                             "message": "The transaction belongs to another merchant."})
        elif s.payout_id == payout.pk:
            if s.pending_payout_reference:
                moves.append(Move(s.pk, s.payout_id, s.payout_id, "", at, pending=""))
        elif s.payout_id is not None and held[s.payout_id].status != PayoutStatus.RETURNED:
            rejected.append({"reference": reference, "code": "linked_to_other_payout",
                             "message": "The transaction is already covered by another payout."})
        else:  # unlinked, or re-paid out of a payout the bank returned
            moves.append(Move(s.pk, s.payout_id, payout.pk, LINK_LISTED, at,
                              pending="" if s.pending_payout_reference else None))
    for s in swipes:
        if s.payout_id == payout.pk and s.reference not in named:
            moves.append(Move(s.pk, payout.pk, None, LINK_DROPPED, at))
        elif s.payout_id != payout.pk and s.reference not in named and s.pending_payout_reference == payout.reference:
            # The list is the later word: the event's claim is superseded (the event row keeps it).
            moves.append(Move(s.pk, s.payout_id, s.payout_id, "", at, pending=""))
    return rejected, moves


def _result(payout: Payout, *, created: bool, outcome: str, rejected: list[dict], totals: SwipeTotals | None = None,
            found: dict[int, PayoutDiscrepancy | None] | None = None) -> PayoutResult:
    if totals is None:
        totals = swipe_totals({payout.pk})[payout.pk]
    if found is not None and payout.pk in found:
        stored = found[payout.pk]
    else:  # a stale post, or a returned payout: what is stored
        stored = PayoutDiscrepancy.objects.filter(payout=payout, resolved_at__isnull=True).first()
    return PayoutResult(payout=payout, created=created, net_total=totals.net, transaction_count=totals.count,
                        outcome=outcome, rejected=rejected, stored_discrepancy=stored,
                        explained=lines_explained([payout.pk]).get(payout.pk, Decimal("0.00")))
