"""The one door for status: every status change goes through `events_apply`.

A batch costs a constant number of SQL statements: lock the batch's transactions
(SELECT ... FOR UPDATE, in id order so two batches cannot deadlock), read their known
events and the already-seen event ids, judge every event in Python with the pure
lifecycle fold, then one INSERT for the event rows and one UPDATE for the rows.
Final is final: an event that would move a final swipe elsewhere is judged
`contradicts_final` by the same fold, stored (outcome contradicts_final, from = to = the
final status, per-item code `transaction_final`), never folded again, and opens or joins
the swipe's data-error case (settlement.services.data_errors; no statement otherwise).
Staff are told at the form instead: their contradicting entries are refused, not stored.
Holding the row locks makes a duplicate of the same event wait and then see the first
one; the unique (channel, event_id) constraint catches the rest (same id reused for
another reference), in which case the whole batch is re-judged once more.
"""

import hashlib
import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection
from django.db import transaction as db_transaction
from django.db.models import Q
from django.utils import timezone

from channels.models import Channel
from config import metrics
from settlement.bulk_sql import rows_insert, rows_update
from settlement.lifecycle import (
    FINAL_STATUSES,
    LIFECYCLE_EVENT_TYPES,
    RESERVED_EVENT_ID_PREFIXES,
    Judgement,
    LifecycleEvent,
    Outcome,
    judge,
)
from settlement.models import SettlementEvent, Transaction
from settlement.pan import any_full_pan, contains_full_pan
from settlement.services.data_errors import Contradiction, data_errors_record, event_facts
from settlement.services.delays import delays_on_final
from settlement.services.payout_links import payout_links_finish, payout_links_plan
from settlement.services.reschedule import deadlines_on_events

log = logging.getLogger(__name__)

# Acquirer clocks drift; an event this far in our future is refused as a data error.
MAX_CLOCK_SKEW = timedelta(minutes=5)
_MAX_ATTEMPTS = 3


_json_string = json.encoder.encode_basestring_ascii  # json.dumps' own (C) string encoder


@dataclass(frozen=True)
class EventInput:
    event_id: str
    reference: str
    type: str
    occurred_at: datetime
    payout_reference: str = ""
    reason: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    # Judged by the item rules (settlement.items.parse_event), card numbers included:
    # the door does not scan its texts again. Not part of the event.
    pan_checked: bool = field(default=False, compare=False, repr=False)

    def fingerprint(self) -> str:
        """What makes two deliveries of one event id "the same body". Computed once per
        input (a poll's answers are fingerprinted before the door and again inside it)."""
        cached = self.__dict__.get("_fingerprint")
        if cached is not None:
            return cached
        occurred_at = (self.occurred_at.astimezone(UTC).isoformat() if self.occurred_at.tzinfo
                       else self.occurred_at.isoformat())
        # Byte for byte json.dumps({...}, sort_keys=True) of these five fields (stored
        # fingerprints depend on it; tests check it), at a third of its cost.
        q = _json_string
        body = (f'{{"occurred_at": {q(occurred_at)}, "payout_reference": {q(self.payout_reference or "")}, '
                f'"reason": {q(self.reason or "")}, "reference": {q(self.reference)}, "type": {q(self.type)}}}')
        digest = hashlib.sha256(body.encode()).hexdigest()
        self.__dict__["_fingerprint"] = digest  # frozen: not a field, never compared
        return digest


@dataclass
class EventResult:
    event_id: str
    reference: str
    result: str  # applied / stale / duplicate / rejected / contradicts_final
    code: str = ""
    message: str = ""
    transaction: Transaction | None = None


def _reject(item: EventInput, code: str, message: str) -> EventResult:
    return EventResult(item.event_id, item.reference, Outcome.REJECTED, code, message)


def _validate(item: EventInput, now: datetime, pan_suspect: bool = True) -> EventResult | None:
    if item.type not in LIFECYCLE_EVENT_TYPES:
        return _reject(item, "invalid_event_type", f"Unknown event type {item.type!r}.")
    if item.occurred_at.tzinfo is None:
        return _reject(item, "naive_datetime", "occurred_at needs a UTC offset.")
    if item.occurred_at > now + MAX_CLOCK_SKEW:
        return _reject(item, "occurred_in_future", "occurred_at is in the future.")
    # The one door checks too: poll answers and staff entries reach it without the API's item check.
    if pan_suspect and any(contains_full_pan(t) for t in _pan_texts(item) if t):
        return _reject(item, "full_pan_forbidden", "A full card number is not accepted; send first 6 + last 4 at most.")
    return None


def _pan_texts(item: EventInput) -> tuple[str, ...]:
    return (item.reason, item.payout_reference, item.reference, item.event_id)


class EventIdRace(Exception):
    """events_apply(savepoint=False) met a concurrent insert of one of its event ids
    (for another reference) inside the caller's transaction, which is now spoilt: the
    caller rolls it back whole and runs it again, and the batch is judged afresh."""


def events_apply(
    *, channel: Channel, events: list[EventInput], source: str, now: datetime | None = None,
    savepoint: bool = True,
) -> list[EventResult]:
    """Apply a batch of status events of one channel; one result per item, in order.

    Each item succeeds or fails on its own: a rejected item changes nothing and does
    not undo the others. Safe to call concurrently and to retry.

    Inside a caller's transaction the batch runs in a savepoint, so an event-id race
    re-judges it here. `savepoint=False` saves those two round trips for a caller that
    retries its whole transaction instead (the signed push view): the race raises
    EventIdRace.
    """
    own = savepoint or not connection.in_atomic_block
    for attempt in range(_MAX_ATTEMPTS):
        try:
            results = _events_apply_once(channel=channel, events=events, source=source, now=now or timezone.now(),
                                         savepoint=savepoint)
            outcomes = Counter(r.result for r in results)
            # Counted once committed: an outer transaction that rolls back counts nothing.
            db_transaction.on_commit(lambda outcomes=outcomes: metrics.count_events(
                channel=channel.code, source=source, outcomes=outcomes))
            return results
        except IntegrityError as exc:
            # A concurrent batch inserted one of our event ids for another reference.
            if not own:
                raise EventIdRace("an event id of this batch was inserted concurrently") from exc
            if attempt == _MAX_ATTEMPTS - 1:
                raise
            log.info("event batch raced on an event id; re-judging (attempt %s)", attempt + 2)
    raise AssertionError("unreachable")


def _events_apply_once(
    *, channel: Channel, events: list[EventInput], source: str, now: datetime, savepoint: bool = True
) -> list[EventResult]:
    with db_transaction.atomic(savepoint=savepoint):
        return _judge_and_write(channel=channel, events=events, source=source, now=now)


def _judge_and_write(
    *, channel: Channel, events: list[EventInput], source: str, now: datetime
) -> list[EventResult]:
    refs = sorted({e.reference for e in events})
    txns = {
        t.reference: t
        for t in Transaction.objects.select_for_update()
        .filter(channel=channel, reference__in=refs)
        .order_by("id")
    }
    known_ids = {t.id for t in txns.values()}
    # One read for both: the batch's event ids already seen on this channel, and the
    # known lifecycle events of the locked transactions (the input of the fold).
    seen: dict[str, str] = {}  # event_id -> fingerprint
    known: dict[int, list[LifecycleEvent]] = defaultdict(list)
    rows = SettlementEvent.objects.filter(
        Q(channel=channel, event_id__in=[e.event_id for e in events])
        | Q(transaction__in=[t.id for t in txns.values()], type__in=list(LIFECYCLE_EVENT_TYPES))
    ).values_list("channel_id", "transaction_id", "type", "occurred_at", "event_id", "fingerprint", "outcome")
    wanted_ids = {e.event_id for e in events}
    for channel_id, txn_id, kind, occurred_at, event_id, fingerprint, outcome in rows:
        if channel_id == channel.id and event_id in wanted_ids:
            seen[event_id] = fingerprint
        # A contradicting event was never applied: it is no input of the fold.
        if kind in LIFECYCLE_EVENT_TYPES and txn_id in known_ids and outcome != Outcome.CONTRADICTS_FINAL:
            known[txn_id].append(LifecycleEvent(kind, occurred_at, event_id))

    outside = source in (SettlementEvent.Source.PUSH, SettlementEvent.Source.POLL)
    # One look at every text of the batch the item rules have not judged (staff entries,
    # direct callers); items are checked one by one only when it hits.
    pan_suspect = any_full_pan(t for e in events if not e.pan_checked for t in _pan_texts(e))
    results: list[EventResult] = []
    new_rows: list[tuple] = []  # values in _EVENT_COLUMNS order
    changed: dict[int, Transaction] = {}
    contradictions: list[Contradiction] = []
    payout_named: list[tuple] = []  # for the payout door: applied events that name a payout
    for item in events:
        if outside and item.event_id.startswith(RESERVED_EVENT_ID_PREFIXES):
            # Checked by the item rules already; here too, so no caller can pre-empt our ids.
            results.append(_reject(item, "reserved_event_id", "This event id prefix is reserved for the system."))
            continue
        fingerprint = item.fingerprint()
        if item.event_id in seen:
            if seen[item.event_id] == fingerprint:
                results.append(EventResult(item.event_id, item.reference, Outcome.DUPLICATE,
                                           transaction=txns.get(item.reference)))
            else:
                results.append(_reject(item, "idempotency_conflict",
                                       "This event_id was already used with a different body."))
            continue
        invalid = _validate(item, now, pan_suspect and not item.pan_checked)
        if invalid:
            results.append(invalid)
            continue
        txn = txns.get(item.reference)
        if txn is None:
            results.append(_reject(item, "unknown_reference", f"No transaction {item.reference!r} on this channel."))
            continue
        new = LifecycleEvent(item.type, item.occurred_at, item.event_id)
        verdict = judge(known[txn.id], new)
        if verdict.outcome == Outcome.REJECTED or (
            verdict.outcome == Outcome.CONTRADICTS_FINAL and source == SettlementEvent.Source.STAFF
        ):
            results.append(_reject(item, verdict.code, verdict.message))
            continue
        if verdict.outcome == Outcome.CONTRADICTS_FINAL:
            seen[item.event_id] = fingerprint
            new_rows.append((
                channel.id, txn.id, item.event_id, item.type, source, verdict.outcome, txn.status, txn.status,
                item.occurred_at, now, item.payout_reference, item.reason[:300], item.payload, fingerprint,
            ))
            contradictions.append(Contradiction(
                transaction=txn, final=_final_event(known[txn.id], verdict),
                contradicting=event_facts(event_id=item.event_id, type=item.type, occurred_at=item.occurred_at,
                                          source=source, received_at=now.isoformat()),
            ))
            results.append(EventResult(item.event_id, item.reference, verdict.outcome, verdict.code,
                                       verdict.message, transaction=txn))
            continue
        from_status = txn.status
        _set_state(txn, verdict)
        if item.payout_reference and verdict.outcome == Outcome.APPLIED:
            payout_named.append((txn, item.payout_reference, item.occurred_at, item.event_id))
        known[txn.id].append(new)
        changed[txn.id] = txn
        seen[item.event_id] = fingerprint
        new_rows.append((
            channel.id, txn.id, item.event_id, item.type, source, verdict.outcome, from_status, txn.status,
            item.occurred_at, now, item.payout_reference, item.reason[:300], item.payload, fingerprint,
        ))
        results.append(EventResult(item.event_id, item.reference, verdict.outcome, transaction=txn))

    if new_rows:
        # No savepoint: an id race (IntegrityError) rolls back this whole attempt and
        # events_apply judges the batch again.
        _insert_events(new_rows)
    if changed:
        for txn in changed.values():
            txn.updated_at = now
        # Payout links (no statements unless a payout is named or a swipe credited): decided
        # first, so the one UPDATE below writes them with the rest of the rows' state.
        links = payout_links_plan(channel=channel, named=payout_named, txns=changed.values())
        _update_state(list(changed.values()))
        # Flagged swipes that became final close their cases (no statements otherwise).
        delays_on_final(txns=list(changed.values()), now=now)
        # The links' trail and the credited-by-swipes rule, on the written rows.
        payout_links_finish(plan=links, source=source, now=now)
        # Re-settled swipes get a new deadline; late-and-returned ones a new cause.
        deadlines_on_events(txns=list(changed.values()), known=known, now=now)
    if contradictions:
        data_errors_record(channel=channel, contradictions=contradictions, now=now)
    return results


def _final_event(known: list[LifecycleEvent], verdict: Judgement) -> dict:
    """The stored event that made the swipe final (the evidence's other side)."""
    state = verdict.state
    for event in known:
        if event.type == state.progress and event.occurred_at == state.final_at:
            return event_facts(event_id=event.key, type=event.type, occurred_at=event.occurred_at)
    return {"event_id": "", "type": state.progress, "occurred_at": state.final_at.isoformat() if state.final_at else ""}


_STATE_FIELDS = [
    "status", "resume_status", "settled_at", "credited_at", "last_event_at",
    "payout", "pending_payout_reference", "next_poll_at", "updated_at",
]


_EVENT_COLUMNS = (
    "channel_id", "transaction_id", "event_id", "type", "source", "outcome", "from_status", "to_status",
    "occurred_at", "received_at", "payout_reference", "reason", "payload", "fingerprint",
)


def _insert_events(rows: list[tuple]) -> None:
    """One INSERT for the batch's event rows (tuples in _EVENT_COLUMNS order), one array
    per column (settlement.bulk_sql): model instances and bulk_create's per-field
    preparation were a third of a 500-event batch, a VALUES list over half the rest."""
    rows_insert(SettlementEvent, _EVENT_COLUMNS, rows)


def _update_state(txns: list[Transaction]) -> None:
    """One UPDATE ... FROM unnest(...) for the changed rows. bulk_update builds a CASE
    per field and row and cost ~2 ms per row in Python (bench.api_ingest)."""
    attnames = [Transaction._meta.get_field(name).attname for name in _STATE_FIELDS]
    rows_update(Transaction, [(t.pk, *[getattr(t, a) for a in attnames]) for t in txns], _STATE_FIELDS)


def _set_state(txn: Transaction, verdict: Judgement) -> None:
    state = verdict.state
    txn.status = state.status
    txn.resume_status = state.resume_status or ""
    txn.settled_at = state.settled_at
    txn.credited_at = state.credited_at
    txn.last_event_at = state.last_event_at
    if txn.status in FINAL_STATUSES:
        txn.next_poll_at = None  # nothing left to learn


def event_apply(*, channel: Channel, event: EventInput, source: str) -> EventResult:
    """One event: a batch of one."""
    return events_apply(channel=channel, events=[event], source=source)[0]
