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


def moves_write(*, moves: list[Move], source: str, now: datetime) -> None:
    """One UPDATE for the swipes and one INSERT for the trail, whatever the count."""
    if not moves:
        return
    relinked = [m for m in moves if m.old != m.new]
    repending = [m for m in moves if m.pending is not None]
    updates: dict = {"updated_at": now}
    if relinked:
        updates["payout_id"] = Case(*[When(id=m.txn_id, then=Value(m.new)) for m in relinked],
                                    default="payout_id", output_field=IntegerField())
    if repending:
        updates["pending_payout_reference"] = Case(
            *[When(id=m.txn_id, then=Value(m.pending)) for m in repending],
            default="pending_payout_reference", output_field=CharField(),
        )
    Transaction.objects.filter(id__in=[m.txn_id for m in moves]).update(**updates)
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


def payouts_on_swipe_events(
    *, channel: Channel, named: list[tuple[Transaction, str, datetime, str]], txns: Iterable[Transaction],
    source: str, now: datetime,
) -> None:
    """The swipe-event side of the payout door, called by events_apply in its database
    transaction with the swipes locked, after their new state is written.

    `named`: (swipe, payout reference, occurred_at, event_id) of each *applied* event
    that names a payout. Links those swipes (or keeps the reference until the payout
    arrives), then applies the credited-by-swipes rule to the payouts of the credited
    swipes. No statement at all for a batch that names no payout and credits none.
    """
    txns = list(txns)
    refs = {ref for _, ref, _, _ in named}
    ids = {t.payout_id for t in txns if t.payout_id and t.status == Status.CREDITED}
    ids |= {t.payout_id for t, *_ in named if t.payout_id}
    if not refs and not ids:
        return
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
    moves_write(moves=moves, source=source, now=now)
    resized = {pk for m in moves if m.old != m.new for pk in (m.old, m.new) if pk is not None}
    touched = {t.payout_id for t in txns if t.payout_id and t.status == Status.CREDITED} | resized
    payouts_after_change(channel=channel, payouts=[payouts[pk] for pk in sorted(touched) if pk in payouts],
                         recheck=resized, now=now)
