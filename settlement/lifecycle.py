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
    """Apply one event in time order. Events with no meaning here change nothing."""
    at = event.occurred_at
    last = at if state.last_event_at is None or at > state.last_event_at else state.last_event_at
    if state.is_final:
        return _touch(state, last)
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


@dataclass(frozen=True)
class Judgement:
    outcome: str
    state: LifecycleState  # the state after the event (unchanged when rejected)
    code: str = ""
    message: str = ""


def judge(known: list[LifecycleEvent], new: LifecycleEvent) -> Judgement:
    """Decide what a new event does to a transaction whose stored events are `known`."""
    old = fold(known)
    if old.is_final and old.final_at is not None and new.occurred_at > old.final_at:
        return Judgement(
            Outcome.REJECTED, old, "transaction_final",
            f"The transaction is already {old.progress}; a later {new.type} is impossible.",
        )
    money_left = old.returned or old.progress in (Status.SETTLED, Status.CREDITED)
    if new.type in (EventType.REVERSED, EventType.REFUNDED) and money_left:
        return Judgement(
            Outcome.REJECTED, old, "invalid_transition",
            f"A {old.status} transaction cannot be {new.type}: only captured or cleared ones can.",
        )
    if not known or _sort_key(new) >= max(map(_sort_key, known)):
        state = step(old, new)  # the usual in-order arrival: the same as folding it last
    else:
        state = fold([*known, new])
    if (state.status, state.resume_status) == (old.status, old.resume_status):
        return Judgement(Outcome.STALE, state)
    return Judgement(Outcome.APPLIED, state)
