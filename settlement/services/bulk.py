"""Work many cases at once (supervisors): assign, escalate, reply with a template,
resolve. Set-based and bounded: the selected unresolved cases are locked in id order
(two supervisors on overlapping selections queue behind each other, never deadlock),
changed in one UPDATE, and each gets its own history entry."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction as db_transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext as _

from settlement.models import CaseEntry, FollowUpCase, Notification, ReplyTemplate
from settlement.services.cases import OPEN_STATUSES, OUTCOME_NEEDS, CaseError
from settlement.services.notifications import notifications_create

BULK_MAX = 500


def _lock(ids: list[int], extra: Q | None = None) -> list[int]:
    if not ids:
        raise CaseError("nothing_selected", _("Select at least one case."))
    if len(ids) > BULK_MAX:
        raise CaseError("too_many", _("At most %(n)s cases at once.") % {"n": BULK_MAX})
    qs = FollowUpCase.objects.select_for_update(of=("self",)).filter(id__in=ids, status__in=OPEN_STATUSES)
    if extra is not None:
        qs = qs.filter(extra)
    return list(qs.order_by("id").values_list("id", flat=True))


def _entries(ids: list[int], kind: str, *, by, now: datetime, **fields) -> None:
    CaseEntry.objects.bulk_create([CaseEntry(case_id=i, kind=kind, author=by, created_at=now, **fields) for i in ids])


@db_transaction.atomic
def cases_bulk_assign(*, ids: list[int], to: AbstractBaseUser, by: AbstractBaseUser,
                      now: datetime | None = None) -> int:
    if not to.is_staff:
        raise CaseError("not_staff", _("Cases can only be assigned to staff."))
    locked = _lock(ids)
    now = now or timezone.now()  # after the lock: history follows the order actions applied
    FollowUpCase.objects.filter(id__in=locked).update(
        assignee=to, claimed_at=now, last_action_at=now,
        status=Case(When(status=FollowUpCase.Status.OPEN, then=Value(FollowUpCase.Status.CLAIMED)), default=F("status")),
    )
    _entries(locked, CaseEntry.Kind.ASSIGNED, by=by, now=now, data={"to": to.get_username(), "bulk": True})
    return len(locked)


@db_transaction.atomic
def cases_bulk_escalate(*, ids: list[int], by: AbstractBaseUser, reason: str = "",
                        now: datetime | None = None) -> int:
    locked = _lock(ids, Q(status__in=[FollowUpCase.Status.OPEN, FollowUpCase.Status.CLAIMED]))
    now = now or timezone.now()
    FollowUpCase.objects.filter(id__in=locked).update(status=FollowUpCase.Status.ESCALATED, escalated_at=now,
                                                      last_action_at=now)
    _entries(locked, CaseEntry.Kind.ESCALATED, by=by, now=now, body=reason.strip(), data={"bulk": True})
    return len(locked)


@db_transaction.atomic
def cases_bulk_reply(*, ids: list[int], by: AbstractBaseUser, template: ReplyTemplate,
                     now: datetime | None = None) -> int:
    """The template filled with each case's own facts, in each merchant's language."""
    from settlement.services.replies import reply_template_fill

    locked = _lock(ids)
    now = now or timezone.now()
    cases = list(FollowUpCase.objects.filter(id__in=locked).select_related("merchant", "transaction").order_by("id"))
    bodies = {c.pk: reply_template_fill(template, case=c) for c in cases}
    FollowUpCase.objects.filter(id__in=locked).update(last_action_at=now)
    CaseEntry.objects.bulk_create([
        CaseEntry(case_id=c.pk, kind=CaseEntry.Kind.STAFF_REPLY, author=by, created_at=now, body=bodies[c.pk],
                  visible_to_merchant=True, data={"template": template.name, "bulk": True})
        for c in cases
    ])
    notifications_create(kind=Notification.Kind.CASE_UPDATE, items=[
        (c.merchant_id, c.transaction_id, c.pk, {"topic": "reply", "case_reference": c.reference,
                                                 "message": bodies[c.pk]})
        for c in cases
    ], now=now)
    return len(cases)


@db_transaction.atomic
def cases_bulk_resolve(*, ids: list[int], by: AbstractBaseUser, outcome: str, note: str = "",
                       now: datetime | None = None) -> tuple[int, int]:
    """Resolve the selected cases whose swipe agrees with the outcome (credited late
    needs a credited swipe, refunded a refunded one); returns (resolved, skipped)."""
    if outcome not in FollowUpCase.Outcome.values:
        raise CaseError("invalid_outcome", _("Choose an outcome."))
    agrees = None
    if outcome in OUTCOME_NEEDS:
        agrees = Q(transaction__status__in=list(OUTCOME_NEEDS[outcome]))
    locked = _lock(ids, agrees)
    now = now or timezone.now()
    FollowUpCase.objects.filter(id__in=locked).update(
        status=FollowUpCase.Status.RESOLVED, sla_paused_at=None, outcome=outcome, resolved_at=now, resolved_by=by, last_action_at=now,
    )
    _entries(locked, CaseEntry.Kind.RESOLVED, by=by, now=now, body=note.strip(), data={"outcome": outcome, "bulk": True})
    return len(locked), len(set(ids)) - len(locked)


@db_transaction.atomic
def cases_bulk_new_arrival(*, ids: list[int], by: AbstractBaseUser, at: datetime, reason: str,
                           now: datetime | None = None) -> int:
    """The same promised arrival on every selected case whose swipe is not final; each
    case its own history entry and its merchant one notification per case."""
    from settlement.lifecycle import FINAL_STATUSES
    from settlement.services.replies import _clean_text

    if at is None or timezone.is_naive(at):
        raise CaseError("naive_datetime", _("Give the new arrival as a date and time."))
    reason = _clean_text(reason, code="reason_required", empty=_("Say why the money will arrive then."))[:300]
    locked = _lock(ids, ~Q(transaction__status__in=list(FINAL_STATUSES)))
    now = now or timezone.now()
    if at <= now:
        raise CaseError("arrival_in_past", _("The new expected arrival must be in the future."))
    FollowUpCase.objects.filter(id__in=locked).update(
        new_expected_by=at, new_expected_reason=reason, new_expected_set_by=by, new_expected_set_at=now,
        arrival_missed_at=None, last_action_at=now,
    )
    _entries(locked, CaseEntry.Kind.NEW_ARRIVAL, by=by, now=now, body=reason, visible_to_merchant=True,
             data={"at": at.isoformat(), "bulk": True})
    rows = FollowUpCase.objects.filter(id__in=locked).values_list("id", "merchant_id", "transaction_id", "reference")
    notifications_create(kind=Notification.Kind.CASE_UPDATE, items=[
        (m, t, c, {"topic": "new_arrival", "case_reference": ref, "new_expected_by": at.isoformat(), "reason": reason})
        for c, m, t, ref in rows
    ], now=now)
    return len(locked)
