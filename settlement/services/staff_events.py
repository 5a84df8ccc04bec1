"""Staff record what the bank or acquirer told them, through the one door.

`staff_event_record` turns "the bank confirmed the credit, reference X, at 14:05" into a
status event with source `staff`, event id `staff:<uuid>`, the staff user on the row
(`recorded_by`) and the evidence in its payload, applied by `events_apply` like any
acquirer event: the same fold, so final is final for staff too. A staff entry that
contradicts a final status is refused at the form (code `transaction_final`) rather
than stored, since the person can be told directly.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction as db_transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from settlement.lifecycle import EventType, Outcome, Status
from settlement.models import CaseEntry, FollowUpCase, SettlementEvent, Transaction
from settlement.pan import contains_full_pan
from settlement.services.cases import CaseError
from settlement.services.events import EventInput, events_apply

# What staff may record (held comes from risk control, cleared/settled from the acquirer).
STAFF_EVENT_TYPES = (EventType.CREDITED, EventType.RETURNED, EventType.REFUNDED, EventType.REVERSED,
                     EventType.RELEASED)
CLOCK_SKEW = timedelta(minutes=5)
_LIMITS = {"bank_reference": 64, "reason": 300, "evidence": 2000}


@dataclass(frozen=True)
class StaffEventResult:
    outcome: str  # applied / stale
    event_id: str
    status: str  # the swipe's status afterwards


def _clean(name: str, value: str) -> str:
    value = (value or "").strip()
    if "\x00" in value:
        raise CaseError("invalid_characters", _("The text contains a NUL character."))
    if contains_full_pan(value):
        raise CaseError("full_pan_forbidden", _("A full card number is not accepted; first 6 + last 4 at most."))
    if len(value) > _LIMITS[name]:
        raise CaseError("too_long", _("%(field)s is longer than %(n)s characters.") % {"field": name, "n": _LIMITS[name]})
    return value


def _check(*, txn: Transaction, status: str, bank_reference: str, occurred_at: datetime | None, reason: str,
           now: datetime) -> datetime:
    if status not in STAFF_EVENT_TYPES:
        raise CaseError("invalid_event_type", _("Choose what the bank or acquirer confirmed."))
    if status == EventType.CREDITED and not bank_reference:
        raise CaseError("bank_reference_required", _("A credit needs the bank's reference."))
    if status == EventType.CREDITED and occurred_at is None:
        raise CaseError("bank_time_required", _("A credit needs the time the bank gave."))
    if status == EventType.RETURNED and not reason:
        raise CaseError("reason_required", _("A return needs the reason the bank gave."))
    at = occurred_at or now
    if timezone.is_naive(at):
        raise CaseError("naive_datetime", _("The time needs a time zone."))
    if at > now + CLOCK_SKEW:
        raise CaseError("occurred_in_future", _("The time is in the future."))
    if at < txn.captured_at:
        raise CaseError("occurred_before_capture", _("The time is before the swipe was captured."))
    return at


def staff_event_id() -> str:
    """`staff:<uuid>`. About 1 uuid hex in 250 holds a Luhn-valid run of 13+ digits: it
    would read as a card number to every scan (and to our own refusal), so draw again."""
    while True:
        event_id = f"staff:{uuid.uuid4().hex}"
        if not contains_full_pan(event_id):
            return event_id


@db_transaction.atomic
def staff_event_record(
    *, case: FollowUpCase, by: AbstractBaseUser, status: str, evidence: str = "", bank_reference: str = "",
    occurred_at: datetime | None = None, reason: str = "", now: datetime | None = None,
) -> StaffEventResult:
    """Record one status the bank or acquirer confirmed for the case's swipe."""
    now = now or timezone.now()
    if not getattr(by, "is_staff", False):
        raise CaseError("not_staff", _("Only staff record statuses."))
    if case.transaction_id is None:
        raise CaseError("no_transaction", _("This case is not about one swipe."))
    if not FollowUpCase.objects.filter(pk=case.pk).exclude(status=FollowUpCase.Status.RESOLVED).exists():
        raise CaseError("case_resolved", _("This case is already resolved."))
    evidence, bank_reference, reason = (_clean(n, v) for n, v in
                                        (("evidence", evidence), ("bank_reference", bank_reference), ("reason", reason)))
    txn = Transaction.objects.select_related("channel").get(pk=case.transaction_id)
    at = _check(txn=txn, status=status, bank_reference=bank_reference, occurred_at=occurred_at, reason=reason, now=now)
    event_id = staff_event_id()
    payload = {"recorded_by": by.get_username(), "case": case.reference, "evidence": evidence}
    if bank_reference:
        payload["bank_reference"] = bank_reference
    [result] = events_apply(channel=txn.channel, source=SettlementEvent.Source.STAFF, now=now, events=[
        EventInput(event_id=event_id, reference=txn.reference, type=status, occurred_at=at, reason=reason,
                   payload=payload)])
    if result.result not in (Outcome.APPLIED, Outcome.STALE):
        raise CaseError(result.code or "rejected", _staff_message(result.code, txn.status, status))
    SettlementEvent.objects.filter(channel_id=txn.channel_id, event_id=event_id).update(recorded_by=by)
    after = result.transaction.status
    CaseEntry.objects.create(
        case=case, kind=CaseEntry.Kind.STATUS_RECORDED, author=by, body=evidence, created_at=now,
        contact_reference=bank_reference[:100],
        data={"event_id": event_id, "type": status, "occurred_at": at.isoformat(), "outcome": result.result,
              "status": after, **({"reason": reason} if reason else {})},
    )
    FollowUpCase.objects.filter(pk=case.pk).exclude(status=FollowUpCase.Status.RESOLVED).update(last_action_at=now)
    return StaffEventResult(result.result, event_id, after)


def _staff_message(code: str, current: str, wanted: str) -> str:
    label = Status(current).label if current in Status.values else current
    if code == "transaction_final":
        return _("The swipe is already %(status)s, a final status: it cannot become %(wanted)s. If the bank says "
                 "otherwise, note it and escalate.") % {"status": label, "wanted": wanted}
    if code == "invalid_transition":
        return _("A %(status)s swipe cannot be %(wanted)s: its money has already left.") % {
            "status": label, "wanted": wanted}
    return _("The status could not be recorded.")
