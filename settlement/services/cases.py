"""Staff work on follow-up cases. Every action is a CaseEntry; state changes that two
people could race on (claim, resolve) are conditional updates: one wins, the other
gets a CaseError with a stable code to show."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction as db_transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from settlement.lifecycle import Status
from settlement.models import CaseEntry, ChannelIncident, FollowUpCase, Notification, Transaction
from settlement.pan import contains_full_pan
from settlement.services.notifications import notifications_create

OPEN_STATUSES = [FollowUpCase.Status.OPEN, FollowUpCase.Status.CLAIMED, FollowUpCase.Status.ESCALATED,
                 FollowUpCase.Status.WAITING_MERCHANT, FollowUpCase.Status.WAITING_ACQUIRER]


class CaseError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _refuse_pan(*texts: str) -> None:
    if any(contains_full_pan(t) for t in texts if t):
        raise CaseError("full_pan_forbidden", _("Do not write a full card number; the last 4 digits are enough."))


def _entry(case: FollowUpCase, kind: str, *, by, now: datetime, body: str = "", **extra) -> CaseEntry:
    # Every staff text reaches the case through here (inside the action's transaction).
    _refuse_pan(body, *(v for v in extra.values() if isinstance(v, str)))
    return CaseEntry.objects.create(case=case, kind=kind, author=by, body=body, created_at=now, **extra)


def _touch(case: FollowUpCase, now: datetime, **fields) -> int:
    """Update an unresolved case; 0 when someone resolved it meanwhile."""
    return FollowUpCase.objects.filter(pk=case.pk).exclude(status=FollowUpCase.Status.RESOLVED).update(
        last_action_at=now, **fields
    )


def _require_open(case: FollowUpCase, changed: int) -> None:
    if not changed:
        raise CaseError("case_resolved", _("This case is already resolved."))


@db_transaction.atomic
def case_claim(*, case: FollowUpCase, by: AbstractBaseUser, now: datetime | None = None) -> FollowUpCase:
    now = now or timezone.now()
    changed = (
        FollowUpCase.objects.filter(pk=case.pk, assignee__isnull=True, status__in=OPEN_STATUSES)
        .update(
            assignee=by, claimed_at=now, last_action_at=now,
            status=Case(When(status=FollowUpCase.Status.OPEN, then=Value(FollowUpCase.Status.CLAIMED)),
                        default=F("status")),
        )
    )
    if not changed:
        current = FollowUpCase.objects.select_related("assignee").get(pk=case.pk)
        if current.status == FollowUpCase.Status.RESOLVED:
            raise CaseError("case_resolved", _("This case is already resolved."))
        if current.assignee_id == by.pk:
            raise CaseError("already_yours", _("You already hold this case."))
        raise CaseError(
            "already_claimed",
            _("%(user)s claimed this case first.") % {"user": current.assignee.get_username()},
        )
    _entry(case, CaseEntry.Kind.CLAIMED, by=by, now=now)
    case.refresh_from_db()
    return case


@db_transaction.atomic
def case_assign(*, case: FollowUpCase, to: AbstractBaseUser, by: AbstractBaseUser,
                now: datetime | None = None) -> FollowUpCase:
    now = now or timezone.now()
    if not to.is_staff:
        raise CaseError("not_staff", _("Cases can only be assigned to staff."))
    changed = _touch(
        case, now, assignee=to, claimed_at=now,
        status=Case(When(status=FollowUpCase.Status.OPEN, then=Value(FollowUpCase.Status.CLAIMED)),
                    default=F("status")),
    )
    _require_open(case, changed)
    _entry(case, CaseEntry.Kind.ASSIGNED, by=by, now=now, data={"to": to.get_username()})
    case.refresh_from_db()
    return case


@db_transaction.atomic
def case_add_note(*, case: FollowUpCase, by: AbstractBaseUser, body: str, now: datetime | None = None) -> CaseEntry:
    now = now or timezone.now()
    body = body.strip()
    if not body:
        raise CaseError("empty_note", _("A note needs some text."))
    _require_open(case, _touch(case, now))
    return _entry(case, CaseEntry.Kind.NOTE, by=by, now=now, body=body)


@db_transaction.atomic
def case_record_contact(
    *, case: FollowUpCase, by: AbstractBaseUser, party: str, said: str, contacted_at: datetime | None = None,
    reference: str = "", now: datetime | None = None,
) -> CaseEntry:
    """A call or message with the acquirer or bank: who, when, what was said, their ticket."""
    now = now or timezone.now()
    if not party.strip():
        raise CaseError("contact_party_required", _("Say who was contacted."))
    _require_open(case, _touch(case, now))
    from settlement.services.waiting import case_resume  # waiting imports this module

    # Word from the acquirer/bank (or whoever was reached) ends a wait.
    case_resume(case=case, by=by, why="contact_recorded", now=now)
    return _entry(
        case, CaseEntry.Kind.CONTACT, by=by, now=now, body=said.strip(), contact_party=party.strip()[:100],
        contact_reference=reference.strip()[:100], data={"contacted_at": (contacted_at or now).isoformat()},
    )


@db_transaction.atomic
def case_set_follow_up(*, case: FollowUpCase, by: AbstractBaseUser, at: datetime,
                       now: datetime | None = None) -> FollowUpCase:
    now = now or timezone.now()
    if timezone.is_naive(at):
        raise CaseError("naive_datetime", _("The follow-up time needs a time zone."))
    _require_open(case, _touch(case, now, follow_up_at=at))
    _entry(case, CaseEntry.Kind.FOLLOW_UP, by=by, now=now, data={"at": at.isoformat()})
    case.refresh_from_db()
    return case


@db_transaction.atomic
def case_escalate(*, case: FollowUpCase, by: AbstractBaseUser | None, reason: str = "",
                  now: datetime | None = None) -> FollowUpCase:
    now = now or timezone.now()
    changed = (
        FollowUpCase.objects.filter(pk=case.pk, status__in=[FollowUpCase.Status.OPEN, FollowUpCase.Status.CLAIMED])
        .update(status=FollowUpCase.Status.ESCALATED, escalated_at=now, last_action_at=now)
    )
    if not changed:
        raise CaseError("cannot_escalate", _("Only open or in-progress cases can be escalated."))
    _entry(case, CaseEntry.Kind.ESCALATED, by=by, now=now, body=reason.strip())
    case.refresh_from_db()
    return case


# An outcome that states a fact about the swipe needs the swipe to agree (merchant pages
# and the case must tell the same story): credited late = credited; refunded = no money
# due (refunded, or reversed before settlement).
OUTCOME_NEEDS = {
    FollowUpCase.Outcome.CREDITED_LATE: (Status.CREDITED,),
    FollowUpCase.Outcome.REFUNDED: (Status.REFUNDED, Status.REVERSED),
}


@db_transaction.atomic
def case_resolve(*, case: FollowUpCase, by: AbstractBaseUser | None, outcome: str, note: str = "",
                 bank_reference: str = "", bank_time: datetime | None = None,
                 now: datetime | None = None) -> FollowUpCase:
    """Resolve a case. "Credited late" needs a credited swipe, "refunded" a refunded (or
    reversed) one; given the bank's reference and time (credited) or time (refunded),
    the status is recorded through the one door in the same step."""
    now = now or timezone.now()
    if outcome not in FollowUpCase.Outcome.values:
        raise CaseError("invalid_outcome", _("Choose an outcome."))
    delay = None
    if case.transaction_id:
        txn = Transaction.objects.only("expected_by", "credited_at", "status").get(pk=case.transaction_id)
        if outcome in OUTCOME_NEEDS and txn.status not in OUTCOME_NEEDS[outcome]:
            if _record_for_outcome(case=case, by=by, outcome=outcome, note=note, bank_reference=bank_reference,
                                   bank_time=bank_time, now=now):
                return case
            txn = Transaction.objects.only("expected_by", "credited_at", "status").get(pk=case.transaction_id)
        if txn.credited_at:
            delay = max(0, int((txn.credited_at - txn.expected_by).total_seconds()))
    changed = FollowUpCase.objects.filter(pk=case.pk).exclude(status=FollowUpCase.Status.RESOLVED).update(
        status=FollowUpCase.Status.RESOLVED, sla_paused_at=None, outcome=outcome, resolved_at=now, resolved_by=by,
        last_action_at=now, delay_seconds=delay,
    )
    _require_open(case, changed)
    _entry(case, CaseEntry.Kind.RESOLVED, by=by, now=now, body=note.strip(), data={"outcome": outcome})
    case.refresh_from_db()
    return case


def _record_for_outcome(*, case: FollowUpCase, by, outcome: str, note: str, bank_reference: str,
                        bank_time: datetime | None, now: datetime) -> bool:
    """Record the status the outcome states, or refuse. True when recording it already
    resolved the case (a flagged swipe that becomes final closes its case in the door)."""
    from settlement.services.staff_events import staff_event_record

    if outcome == FollowUpCase.Outcome.CREDITED_LATE:
        if not (bank_reference.strip() and bank_time):
            raise CaseError("swipe_not_credited", _(
                "The swipe is not credited: record the credit first, or give the bank's reference and time."))
        staff_event_record(case=case, by=by, status=Status.CREDITED, bank_reference=bank_reference,
                           occurred_at=bank_time, evidence=note, now=now)
    else:
        if not bank_time:
            raise CaseError("swipe_not_refunded", _(
                "The swipe is not refunded: record the refund first, or give the time of the refund."))
        staff_event_record(case=case, by=by, status=Status.REFUNDED, bank_reference=bank_reference,
                           occurred_at=bank_time, evidence=note, now=now)
    case.refresh_from_db()
    if case.status != FollowUpCase.Status.RESOLVED:
        return False
    # Closed by the door with the swipe's facts; the person who resolved it is on record.
    FollowUpCase.objects.filter(pk=case.pk).update(resolved_by=by, outcome=outcome)
    if note.strip():
        _entry(case, CaseEntry.Kind.NOTE, by=by, now=now, body=note.strip())
    case.refresh_from_db()
    return True


def cases_close_arrived(*, txns: list[Transaction], now: datetime) -> list[int]:
    """Flagged swipes that became final: close their open cases (credited late or
    refunded) with the delay, and tell the merchant a credited one arrived. Runs in
    events_apply's transaction; four statements whatever the number of rows."""
    by_id = {t.id: t for t in txns}
    open_cases = list(
        FollowUpCase.objects.select_for_update()
        .filter(transaction_id__in=by_id, status__in=OPEN_STATUSES)
        .values_list("id", "transaction_id", "reference")
    )
    outcome_of, delay_of = {}, {}
    for t in txns:
        outcome_of[t.id] = (
            FollowUpCase.Outcome.CREDITED_LATE if t.status == Status.CREDITED else FollowUpCase.Outcome.REFUNDED
        )
        done_at = t.credited_at or t.last_event_at or now
        delay_of[t.id] = max(0, int((done_at - t.expected_by).total_seconds()))
    if open_cases:
        FollowUpCase.objects.filter(id__in=[c[0] for c in open_cases]).update(
            status=FollowUpCase.Status.RESOLVED, sla_paused_at=None, resolved_at=now, last_action_at=now,
            outcome=Case(*[When(transaction_id=t, then=Value(o)) for t, o in outcome_of.items()]),
            delay_seconds=Case(*[When(transaction_id=t, then=Value(d)) for t, d in delay_of.items()],
                               output_field=IntegerField()),
        )
        CaseEntry.objects.bulk_create([
            CaseEntry(case_id=case_id, kind=CaseEntry.Kind.RESOLVED, created_at=now, visible_to_merchant=True,
                      data={"outcome": outcome_of[txn_id], "delay_seconds": delay_of[txn_id], "automatic": True})
            for case_id, txn_id, _ref in open_cases
        ])
    case_of = {txn_id: (case_id, ref) for case_id, txn_id, ref in open_cases}
    return notifications_create(
        kind=Notification.Kind.ARRIVED,
        items=[
            (t.merchant_id, t.id, case_of.get(t.id, (None, ""))[0], {
                "reference": t.reference,
                "amount": str(t.amount),
                "expected_by": t.expected_by.isoformat(),
                "credited_at": t.credited_at.isoformat(),
                "delay_hours": round(delay_of[t.id] / 3600, 1),
                "case_reference": case_of.get(t.id, (None, ""))[1],
            })
            for t in txns
            if t.status == Status.CREDITED and t.credited_at
        ],
        now=now,
    )


def business_hours_before(*, days, now: datetime, tz, hours: int) -> datetime:
    """The instant `hours` business hours before `now`: time on the calendar's business
    days counts, weekends and holidays do not (as the SLA counts business days)."""
    local = now.astimezone(tz)
    left = timedelta(hours=max(hours, 0))
    day_end = local
    day = local.date()
    for _step in range(400):  # a year of days off in a row is a data error; stop there
        day_begin = datetime.combine(day, datetime.min.time(), tzinfo=tz)
        if days.is_business_day(day):
            span = day_end - day_begin
            if span >= left:
                return day_end - left
            left -= span
        day -= timedelta(days=1)
        day_end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return day_end


def cases_escalate_untouched(*, now: datetime | None = None) -> int:
    """Open or claimed cases nobody acted on for N business hours of their channel's
    calendar are escalated, and so sort first in the queue (case_queue). A conditional
    update: concurrent runs escalate each case once."""
    from zoneinfo import ZoneInfo

    from channels.models import Channel
    from channels.selectors import business_days_for

    now = now or timezone.now()
    hours = settings.DELAYS_CASE_ESCALATE_AFTER_HOURS
    stale = Q()
    for channel in Channel.objects.only("id", "calendar_id", "timezone"):
        before = business_hours_before(days=business_days_for(channel.calendar_id), now=now,
                                       tz=ZoneInfo(channel.timezone), hours=hours)
        stale |= Q(channel_id=channel.id, last_action_at__lt=before)
    if not stale:
        return 0
    untouched = [FollowUpCase.Status.OPEN, FollowUpCase.Status.CLAIMED]
    with db_transaction.atomic():
        ids = list(
            FollowUpCase.objects.select_for_update(skip_locked=True)
            .filter(stale, status__in=untouched)
            .values_list("id", flat=True)[:1000]
        )
        if not ids:
            return 0
        changed = FollowUpCase.objects.filter(id__in=ids, status__in=untouched).update(
            status=FollowUpCase.Status.ESCALATED, escalated_at=now, last_action_at=now
        )
        CaseEntry.objects.bulk_create([
            CaseEntry(case_id=i, kind=CaseEntry.Kind.ESCALATED, created_at=now,
                      data={"automatic": True, "untouched_business_hours": hours})
            for i in ids
        ])
    return changed


def cases_resuggest_returned(*, txn_ids: list[int], now: datetime) -> int:
    """A late swipe the bank just returned: its open case's cause becomes the wrong
    settlement account, with the return as evidence (two statements)."""
    from settlement.models.cases import Cause

    cases = list(FollowUpCase.objects.filter(transaction_id__in=txn_ids, status__in=OPEN_STATUSES)
                 .exclude(cause=Cause.WRONG_ACCOUNT).values_list("id", "cause"))
    if not cases:
        return 0
    evidence = {"status": Status.RETURNED, "rule": "status_returned"}
    FollowUpCase.objects.filter(id__in=[c for c, _ in cases]).update(
        cause=Cause.WRONG_ACCOUNT, cause_evidence=evidence, last_action_at=now
    )
    CaseEntry.objects.bulk_create([
        CaseEntry(case_id=c, kind=CaseEntry.Kind.CAUSE, created_at=now,
                  data={"from": old, "to": Cause.WRONG_ACCOUNT, "automatic": True})
        for c, old in cases
    ])
    return len(cases)


@db_transaction.atomic
def incident_resolve(*, incident: ChannelIncident, by: AbstractBaseUser, note: str = "",
                     now: datetime | None = None) -> int:
    """Close the incident. Its cases whose swipes are final are resolved; the others
    leave the incident and come back to the queue one by one for a re-check.
    Returns how many cases went back to the queue."""
    now = now or timezone.now()
    _refuse_pan(note)
    changed = ChannelIncident.objects.filter(pk=incident.pk, status=ChannelIncident.Status.OPEN).update(
        status=ChannelIncident.Status.RESOLVED, resolved_at=now, resolved_by=by, note=note.strip()
    )
    if not changed:
        raise CaseError("incident_resolved", _("This incident is already resolved."))
    cases = list(incident.cases.filter(status__in=OPEN_STATUSES).select_related("transaction"))
    back = 0
    for case in cases:
        txn = case.transaction
        if txn is not None and txn.is_final:
            outcome = (FollowUpCase.Outcome.CREDITED_LATE if txn.status == Status.CREDITED
                       else FollowUpCase.Outcome.REFUNDED)
            case_resolve(case=case, by=by, outcome=outcome, note=_("Resolved with its channel incident."), now=now)
        else:
            FollowUpCase.objects.filter(pk=case.pk).update(incident=None, last_action_at=now)
            _entry(case, CaseEntry.Kind.NOTE, by=by, now=now,
                   body=_("Channel incident resolved; re-check this swipe."), data={"incident": incident.pk})
            back += 1
    return back


def open_cases_q() -> Q:
    return ~Q(status=FollowUpCase.Status.RESOLVED)
