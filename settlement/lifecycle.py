"""The status lifecycle as a pure fold over events (no database).

captured -> cleared -> settled -> credited      (credited = arrived, final)
any non-final -> held -> released back to where it was
settled -> returned -> settled again after the fix
captured/cleared -> reversed | refunded         (final)

The state of a transaction is defined as the fold of its known events sorted by the
acquirer's event time, so the order in which events *arrive* cannot change the end
state. A new event that does not change the status is "stale": stored, no effect.
A forward move (to a later stage) ends a hold: a held swipe cannot settle, so a later
"settled" proves the hold was released even if the "released" event is still in flight.

Every move the fold makes is checked against TRANSITIONS (one table, read it to know the
lifecycle). Final statuses have no way out: an event of any date that would move a final
swipe elsewhere is judged `contradicts_final` (stored, never applied, never folded again).
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    CAPTURED = "captured", _("Captured")
    CLEARED = "cleared", _("Cleared")
    SETTLED = "settled", _("Settled")
    CREDITED = "credited", _("Credited")
    HELD = "held", _("Held")
    RETURNED = "returned", _("Returned")
    REVERSED = "reversed", _("Reversed")
    REFUNDED = "refunded", _("Refunded")


FINAL_STATUSES = frozenset({Status.CREDITED, Status.REVERSED, Status.REFUNDED})
NON_FINAL_STATUSES = frozenset(set(Status) - FINAL_STATUSES)

# Allowed status moves (from -> to). A superset of what the fold does for honest data;
# final statuses are absorbing. "returned" straight from captured/cleared means the
# settlement event is still in flight (the fold marks it settled-then-returned).
TRANSITIONS: dict[str, frozenset[str]] = {
    Status.CAPTURED: frozenset({Status.CLEARED, Status.SETTLED, Status.CREDITED, Status.HELD, Status.RETURNED,
                                Status.REVERSED, Status.REFUNDED}),
    Status.CLEARED: frozenset({Status.SETTLED, Status.CREDITED, Status.HELD, Status.RETURNED,
                               Status.REVERSED, Status.REFUNDED}),
    Status.SETTLED: frozenset({Status.CREDITED, Status.HELD, Status.RETURNED}),
    Status.RETURNED: frozenset({Status.SETTLED, Status.CREDITED, Status.HELD}),
    # Released back to where it was, or a forward move that proves the release.
    Status.HELD: frozenset({Status.CAPTURED, Status.CLEARED, Status.SETTLED, Status.CREDITED, Status.RETURNED,
                            Status.REVERSED, Status.REFUNDED}),
    Status.CREDITED: frozenset(),
    Status.REVERSED: frozenset(),
    Status.REFUNDED: frozenset(),
}


def move_allowed(from_status: str, to_status: str) -> bool:
    """Staying put is always allowed; a move only if the table lists it."""
    return from_status == to_status or to_status in TRANSITIONS[from_status]


class EventType(models.TextChoices):
    CAPTURED = "captured", _("Captured")
    CLEARED = "cleared", _("Cleared")
    SETTLED = "settled", _("Settled")
    CREDITED = "credited", _("Credited")
    HELD = "held", _("Held")
    RELEASED = "released", _("Released")
    RETURNED = "returned", _("Returned")
    REVERSED = "reversed", _("Reversed")
    REFUNDED = "refunded", _("Refunded")
    # System bookkeeping: the swipe was found late. Does not change the status.
    DELAYED = "delayed", _("Found late")
    # System bookkeeping: the stored deadline moved (calendar, channel rules, re-payment).
    RESCHEDULED = "rescheduled", _("Expected arrival updated")


# Event ids the system writes itself, refused from acquirers (push and poll): captured
# (services.transactions), found late (services.delays), recorded by staff
# (services.staff_events), deadline moved (rescheduled).
RESERVED_EVENT_ID_PREFIXES = ("captured:", "delayed:", "staff:", "rescheduled:")

# What acquirers may push or we may learn by polling.
LIFECYCLE_EVENT_TYPES = frozenset(
    {
        EventType.CLEARED,
        EventType.SETTLED,
        EventType.CREDITED,
        EventType.HELD,
        EventType.RELEASED,
        EventType.RETURNED,
        EventType.REVERSED,
        EventType.REFUNDED,
    }
)

# The status an event asserts the swipe is in (released: "back to where it was").
CLAIMED_STATUS = {
    EventType.CLEARED: Status.CLEARED,
    EventType.SETTLED: Status.SETTLED,
    EventType.CREDITED: Status.CREDITED,
    EventType.HELD: Status.HELD,
    EventType.RETURNED: Status.RETURNED,
    EventType.REVERSED: Status.REVERSED,
    EventType.REFUNDED: Status.REFUNDED,
}

# Position on the main line; holds and returns are overlays on top of it.
_RANK = {Status.CAPTURED: 0, Status.CLEARED: 1, Status.SETTLED: 2, Status.CREDITED: 3}
# Tie-break for events with the same timestamp: the natural order of the lifecycle.
_TIE_ORDER = {t: i for i, t in enumerate(
    ["captured", "cleared", "held", "released", "settled", "returned", "credited",
     "reversed", "refunded", "delayed", "rescheduled"]
)}


@dataclass(frozen=True)
class LifecycleEvent:
    type: str
    occurred_at: datetime
    key: str = ""  # the external event id: a deterministic last tie-break


@dataclass(frozen=True)
class LifecycleState:
    progress: str = Status.CAPTURED  # captured/cleared/settled/credited/reversed/refunded
    held: bool = False
    returned: bool = False
    settled_at: datetime | None = None
    credited_at: datetime | None = None
    final_at: datetime | None = None
    last_event_at: datetime | None = None

    @property
    def is_final(self) -> bool:
        return self.progress in FINAL_STATUSES

    @property
    def status(self) -> str:
        if self.is_final:
            return self.progress
        if self.held:
            return Status.HELD
        return Status.RETURNED if self.returned else self.progress

    @property
    def resume_status(self) -> str | None:
        """Where a held transaction goes back to when released."""
        if self.status != Status.HELD:
            return None
        return Status.RETURNED if self.returned else self.progress


def _sort_key(event: LifecycleEvent) -> tuple:
    return (event.occurred_at, _TIE_ORDER.get(event.type, 99), event.key)


def step(state: LifecycleState, event: LifecycleEvent) -> LifecycleState:
    """Apply one event in time order. Events with no meaning here change nothing, and
    neither does a move TRANSITIONS does not allow (so a final state stays final)."""
    at = event.occurred_at
    last = at if state.last_event_at is None or at > state.last_event_at else state.last_event_at
    if state.progress in FINAL_STATUSES:  # TRANSITIONS[final] is empty: nothing moves
        return _touch(state, last)
    after = _step(state, event, at, last)
    if after.progress is not state.progress or after.held is not state.held or after.returned is not state.returned:
        # The status may have moved: the table decides (the fold's hot path skips this
        # for events that change nothing).
        before, to = state.status, after.status
        if before != to and to not in TRANSITIONS[before]:
            return _touch(state, last)
    return after


def _step(state: LifecycleState, event: LifecycleEvent, at: datetime, last: datetime | None) -> LifecycleState:
    kind = event.type
    if kind in (Status.CLEARED, Status.SETTLED, Status.CREDITED):
        forward = _RANK[kind] > _RANK[state.progress]
        repaid = state.returned and kind in (Status.SETTLED, Status.CREDITED)
        if not (forward or repaid):
            return _touch(state, last)
        changes = {"progress": kind if forward else state.progress, "held": False, "returned": False}
        if kind == Status.SETTLED:
            changes["settled_at"] = at
        if kind == Status.CREDITED:
            changes.update(credited_at=at, final_at=at)
        return replace(state, last_event_at=last, **changes)
    if kind == EventType.HELD:
        return replace(state, held=True, last_event_at=last)
    if kind == EventType.RELEASED:
        return replace(state, held=False, last_event_at=last)
    if kind == EventType.RETURNED:
        if state.returned:
            return _touch(state, last)
        settled_at = state.settled_at if state.progress == Status.SETTLED else None
        return replace(
            state, progress=Status.SETTLED, returned=True, held=False, settled_at=settled_at, last_event_at=last
        )
    if kind in (EventType.REVERSED, EventType.REFUNDED):
        if state.returned or _RANK[state.progress] >= _RANK[Status.SETTLED]:
            return _touch(state, last)  # money already left: judge() rejects this before it gets here
        return replace(state, progress=kind, held=False, returned=False, final_at=at, last_event_at=last)
    return _touch(state, last)


def _touch(state: LifecycleState, last: datetime | None) -> LifecycleState:
    # One replace() per step: it is the fold's main cost in a 500-event batch.
    return state if last == state.last_event_at else replace(state, last_event_at=last)


def fold(events: Iterable[LifecycleEvent], initial: LifecycleState | None = None) -> LifecycleState:
    state = initial or LifecycleState()
    for event in sorted(events, key=_sort_key):
        state = step(state, event)
    return state


class Outcome(models.TextChoices):
    APPLIED = "applied", _("Applied")
    STALE = "stale", _("Stale")  # stored in the trail, changed nothing
    DUPLICATE = "duplicate", _("Duplicate")
    REJECTED = "rejected", _("Rejected")
    # Stored in the trail, never applied: it would move a final swipe elsewhere.
    CONTRADICTS_FINAL = "contradicts_final", _("Contradicts a final status")


@dataclass(frozen=True)
class Judgement:
    outcome: str
    state: LifecycleState  # the state after the event (unchanged when rejected)
    code: str = ""
    message: str = ""


def judge(known: list[LifecycleEvent], new: LifecycleEvent) -> Judgement:
    """Decide what a new event does to a transaction whose stored events are `known`
    (applied and stale ones; contradicting events are never part of the fold)."""
    old = fold(known)
    if old.is_final:
        return _judge_final(known, old, new)
    money_left = old.returned or old.progress in (Status.SETTLED, Status.CREDITED)
    if new.type in (EventType.REVERSED, EventType.REFUNDED) and money_left:
        return Judgement(
            Outcome.REJECTED, old, "invalid_transition",
            f"A {old.status} transaction cannot be {new.type}: only captured or cleared ones can.",
        )
    state = _with(known, old, new)
    if (state.status, state.resume_status) == (old.status, old.resume_status):
        return Judgement(Outcome.STALE, state)
    return Judgement(Outcome.APPLIED, state)


def _with(known: list[LifecycleEvent], old: LifecycleState, new: LifecycleEvent) -> LifecycleState:
    if not known or _sort_key(new) >= max(map(_sort_key, known)):
        return step(old, new)  # the usual in-order arrival: the same as folding it last
    return fold([*known, new])


def _judge_final(known: list[LifecycleEvent], old: LifecycleState, new: LifecycleEvent) -> Judgement:
    """A final swipe. Honest late news of what happened before the final event is stale
    (it may fill in a time, e.g. settled_at). Anything else contradicts the final status:
    another final outcome of any date, a different status dated after the final event,
    or an earlier event that would rewrite the history so it ends elsewhere."""
    claimed = CLAIMED_STATUS.get(new.type)
    after_final = old.final_at is not None and new.occurred_at > old.final_at
    other_final = claimed in FINAL_STATUSES and claimed != old.status
    if (claimed is not None and after_final and not move_allowed(old.status, claimed)) or other_final:
        return _contradiction(old, new)
    state = _with(known, old, new)
    if state.status != old.status:
        return _contradiction(old, new)
    return Judgement(Outcome.STALE, state)


def _contradiction(old: LifecycleState, new: LifecycleEvent) -> Judgement:
    return Judgement(
        Outcome.CONTRADICTS_FINAL, old, "transaction_final",
        f"The transaction is already {old.status} (final); this {new.type} event is stored but not applied.",
    )
