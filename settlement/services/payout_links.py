"""Which swipes a payout covers: changed only explicitly, every change a PayoutEvent.

Two kinds of statement change the set, applied in the order they arrive (the latest
statement wins): a payout post that lists its swipes (the list is the whole set: a
swipe it no longer lists is unlinked), and an applied swipe event that names a payout.
A stale swipe event links nothing. An event naming a payout we do not have yet keeps
the reference on the swipe (`pending_payout_reference`); the payout's first post that
gives no list of its own links those swipes.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Case, CharField, IntegerField, Q, Value, When

from channels.models import Channel
from settlement.lifecycle import Status
from settlement.models import Payout, PayoutEvent, Transaction
from settlement.services.payout_rules import payouts_after_change

# Why a swipe was linked or unlinked (PayoutEvent.reason).
LINK_LISTED = "listed"  # named in the payout's list
LINK_DROPPED = "dropped"  # a later post of the payout no longer lists it
LINK_EVENT = "event"  # an applied swipe event named the payout
LINK_WAITED = "waited"  # an event named the payout before it existed
LINK_MOVED = "moved"  # it now belongs to another payout


@dataclass
class Move:
    """One swipe's change: payout `old` -> `new` (ids, None = no payout), and/or its
    pending reference (None = unchanged)."""

    txn_id: int
    old: int | None
    new: int | None
    reason: str
    occurred_at: datetime
    pending: str | None = None
    payload: dict = field(default_factory=dict)


def moves_write(*, moves: list[Move], source: str, now: datetime, rows_written: bool = False) -> None:
    """One UPDATE for the swipes and one INSERT for the trail, whatever the count.
    `rows_written`: the caller already wrote the swipes' payout_id and pending reference
    (the event door folds them into its own UPDATE), so only the trail is inserted."""
    if not moves:
        return
    relinked = [m for m in moves if m.old != m.new]
    if not rows_written:
        _rows_write(moves, now)
    trail = []
    for m in relinked:
        if m.old is not None:
            trail.append(PayoutEvent(
                payout_id=m.old, kind=PayoutEvent.Kind.UNLINKED, source=source, transaction_id=m.txn_id,
                reason=LINK_MOVED if m.new is not None else m.reason, occurred_at=m.occurred_at, recorded_at=now,
                payload={**m.payload, **({"to_payout_id": m.new} if m.new is not None else {})},
            ))
        if m.new is not None:
            trail.append(PayoutEvent(
                payout_id=m.new, kind=PayoutEvent.Kind.LINKED, source=source, transaction_id=m.txn_id,
                reason=m.reason, occurred_at=m.occurred_at, recorded_at=now,
                payload={**m.payload, **({"from_payout_id": m.old} if m.old is not None else {})},
            ))
    PayoutEvent.objects.bulk_create(trail)


def _rows_write(moves: list[Move], now: datetime) -> None:
    """The swipes' new payout and pending reference: one UPDATE ... FROM (VALUES ...),
    linear in the rows (a CASE with one WHEN per row is quadratic, and costly to build).
    The first move of a swipe wins, as the CASE did."""
    relink: dict[int, int | None] = {}
    repend: dict[int, str] = {}
    for m in moves:
        if m.old != m.new:
            relink.setdefault(m.txn_id, m.new)
        if m.pending is not None:
            repend.setdefault(m.txn_id, m.pending)
    ids = list(dict.fromkeys(m.txn_id for m in moves))
    if connection.vendor != "postgresql":  # the embedded SQLite default: plain ORM
        updates: dict = {"updated_at": now}
        if relink:
            updates["payout_id"] = Case(*[When(id=pk, then=Value(new)) for pk, new in relink.items()],
                                        default="payout_id", output_field=IntegerField())
        if repend:
            updates["pending_payout_reference"] = Case(
                *[When(id=pk, then=Value(ref)) for pk, ref in repend.items()],
                default="pending_payout_reference", output_field=CharField(),
            )
        Transaction.objects.filter(id__in=ids).update(**updates)
        return
    qn = connection.ops.quote_name
    table = qn(Transaction._meta.db_table)
    payout_type = Transaction._meta.get_field("payout").db_type(connection)
    pending_type = Transaction._meta.get_field("pending_payout_reference").db_type(connection)
    params: list = []
    for pk in ids:
        params += [pk, pk in relink, relink.get(pk), pk in repend, repend.get(pk, "")]
    values = ", ".join(["(%s, %s, %s::" + payout_type + ", %s, %s)"] * len(ids))
    sql = (
        f"UPDATE {table} SET "
        f"payout_id = CASE WHEN v.relink THEN v.payout_id ELSE {table}.payout_id END, "
        f"pending_payout_reference = CASE WHEN v.repend THEN v.pending::{pending_type} "
        f"ELSE {table}.pending_payout_reference END, updated_at = %s "
        f"FROM (VALUES {values}) AS v(id, relink, payout_id, repend, pending) WHERE {table}.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [now, *params])


@dataclass
class LinkPlan:
    """What payout_links_plan decided, for payout_links_finish after the rows are written."""

    channel: Channel
    txns: list[Transaction]
    payouts: dict[int, Payout]
    moves: list[Move]


def payout_links_plan(
    *, channel: Channel, named: list[tuple[Transaction, str, datetime, str]], txns: Iterable[Transaction],
) -> LinkPlan | None:
    """The swipe-event side of the payout door, first half: called by events_apply in its
    database transaction with the swipes locked, before it writes their new state.

    `named`: (swipe, payout reference, occurred_at, event_id) of each *applied* event
    that names a payout. Decides the links (or keeps the reference until the payout
    arrives) and sets `payout_id` / `pending_payout_reference` on the swipe instances,
    which the door's one UPDATE then writes with the rest of their state. None (and no
    statement at all) for a batch that names no payout and credits none.
    """
    txns = list(txns)
    refs = {ref for _, ref, _, _ in named}
    ids = {t.payout_id for t in txns if t.payout_id and t.status == Status.CREDITED}
    ids |= {t.payout_id for t, *_ in named if t.payout_id}
    if not refs and not ids:
        return None
    # Locked in id order, after the swipes: the same order as payout_upsert, so no deadlock.
    payouts = {
        p.pk: p
        for p in Payout.objects.select_for_update()
        .filter(Q(channel=channel, reference__in=refs) | Q(id__in=ids))
        .order_by("id")
    }
    by_ref = {p.reference: p for p in payouts.values() if p.channel_id == channel.pk}
    last = {txn.pk: (txn, ref, at, event_id) for txn, ref, at, event_id in named}  # the batch's last word per swipe
    moves: list[Move] = []
    for txn, ref, at, event_id in last.values():
        payout = by_ref.get(ref)
        if payout is None:  # not here yet: keep the reference, link on arrival
            if txn.pending_payout_reference != ref:
                moves.append(Move(txn.pk, txn.payout_id, txn.payout_id, "", at, pending=ref))
                txn.pending_payout_reference = ref
            continue
        if payout.merchant_id != txn.merchant_id:
            continue  # another merchant's payout: never linked (bad acquirer data)
        pending = "" if txn.pending_payout_reference else None
        if txn.payout_id == payout.pk:
            if pending is not None:
                moves.append(Move(txn.pk, payout.pk, payout.pk, "", at, pending=pending))
        else:
            moves.append(Move(txn.pk, txn.payout_id, payout.pk, LINK_EVENT, at, pending=pending,
                              payload={"event_id": event_id}))
            txn.payout_id = payout.pk
        txn.pending_payout_reference = ""
    return LinkPlan(channel, txns, payouts, moves)


def payout_links_finish(*, plan: LinkPlan | None, source: str, now: datetime) -> None:
    """Second half, after the swipes' rows are written: the links' trail, then the
    credited-by-swipes rule and the discrepancy check of the payouts concerned."""
    if plan is None:
        return
    moves_write(moves=plan.moves, source=source, now=now, rows_written=True)
    resized = {pk for m in plan.moves if m.old != m.new for pk in (m.old, m.new) if pk is not None}
    touched = {t.payout_id for t in plan.txns if t.payout_id and t.status == Status.CREDITED} | resized
    payouts_after_change(channel=plan.channel,
                         payouts=[plan.payouts[pk] for pk in sorted(touched) if pk in plan.payouts],
                         recheck=resized, now=now)
