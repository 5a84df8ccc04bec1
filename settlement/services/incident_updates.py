"""Channel incidents for staff: what one incident holds (merchants, money, timeline),
and updates posted to every affected merchant once, with each swipe's revised arrival
where staff promised one. Resolving an incident stays in services/cases.py."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction as db_transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from settlement.models import CaseEntry, ChannelIncident, FollowUpCase, IncidentUpdate, Notification
from settlement.services.cases import OPEN_STATUSES, CaseError
from settlement.services.notifications import notifications_create
from settlement.services.replies import _clean_text

MAX_CASES_PER_UPDATE = 5000
TIMELINE_MAX_EVENTS = 100
# What the incident timeline shows of its cases' histories. The replies an incident update
# wrote are the update's own row; notes and contacts stay on the case page.
TIMELINE_KINDS = (
    CaseEntry.Kind.ASSIGNED, CaseEntry.Kind.STAFF_REPLY, CaseEntry.Kind.NEW_ARRIVAL, CaseEntry.Kind.ESCALATED,
    CaseEntry.Kind.RESOLVED, CaseEntry.Kind.REOPENED, CaseEntry.Kind.ARRIVAL_MISSED,
)


@dataclass(frozen=True)
class AffectedMerchant:
    merchant_id: int
    merchant_no: str
    name: str
    cases: int
    amount: Decimal


def incident_merchants(incident: ChannelIncident) -> list[AffectedMerchant]:
    """Merchants with open cases in the incident, the most money at stake first."""
    rows = (FollowUpCase.objects.filter(incident=incident, status__in=OPEN_STATUSES)
            .values("merchant_id", "merchant__merchant_no", "merchant__name")
            .annotate(n=Count("id"), amount=Sum("amount_at_stake")).order_by("-amount", "merchant_id"))
    return [AffectedMerchant(r["merchant_id"], r["merchant__merchant_no"], r["merchant__name"], r["n"],
                             r["amount"] or Decimal("0")) for r in rows]


@dataclass(frozen=True)
class CaseEvent:
    """One action on the incident's cases: a bulk action is one event over its cases
    (its entries share kind, author and time), a single action an event of one case."""
    at: datetime
    kind: str
    label: str
    author: str
    outcome: str
    cases: int
    case_id: int  # the (first) case, linked when there is only one
    case_reference: str
    visible_to_merchant: bool


def incident_case_events(incident: ChannelIncident, *, limit: int = TIMELINE_MAX_EVENTS) -> list[CaseEvent]:
    """The latest `limit` actions on the incident's cases, newest first: one grouped
    query (case entries by kind, author, time and outcome), so an incident of 5,000
    cases costs one statement and at most `limit` rows, whatever its history."""
    from django.db.models import Min
    from django.db.models.fields.json import KT

    rows = (CaseEntry.objects.filter(case__incident=incident, kind__in=TIMELINE_KINDS)
            .exclude(data__has_key="incident_update")
            .annotate(outcome=KT("data__outcome"))
            .values("kind", "created_at", "author__username", "outcome", "visible_to_merchant")
            .annotate(n=Count("id"), case_id=Min("case_id"), ref=Min("case__reference"))
            .order_by("-created_at", "kind")[:limit])
    labels = dict(CaseEntry.Kind.choices)
    return [CaseEvent(r["created_at"], r["kind"], str(labels.get(r["kind"], r["kind"])), r["author__username"] or "",
                      r["outcome"] or "", r["n"], r["case_id"], r["ref"], r["visible_to_merchant"]) for r in rows]


@db_transaction.atomic
def incident_post_update(*, incident: ChannelIncident, by: AbstractBaseUser, body: str,
                         now: datetime | None = None) -> IncidentUpdate:
    """One history entry per open case (visible to its merchant) and one notification
    per affected merchant, listing that merchant's swipes with a revised arrival."""
    now = now or timezone.now()
    body = _clean_text(body, code="empty_update", empty=_("An update needs some text."))
    if not ChannelIncident.objects.filter(pk=incident.pk, status=ChannelIncident.Status.OPEN).exists():
        raise CaseError("incident_resolved", _("This incident is already resolved."))
    cases = list(
        FollowUpCase.objects.select_for_update(of=("self",)).filter(incident=incident, status__in=OPEN_STATUSES)
        .select_related("transaction").order_by("merchant_id", "id")[:MAX_CASES_PER_UPDATE]
    )
    update = IncidentUpdate.objects.create(incident=incident, author=by, body=body, created_at=now,
                                           merchants_told=len({c.merchant_id for c in cases}))
    FollowUpCase.objects.filter(id__in=[c.pk for c in cases]).update(last_action_at=now)
    CaseEntry.objects.bulk_create([
        CaseEntry(case_id=c.pk, kind=CaseEntry.Kind.STAFF_REPLY, author=by, body=body, created_at=now,
                  visible_to_merchant=True, data={"incident": incident.pk, "incident_update": update.pk})
        for c in cases
    ])
    per_merchant: dict[int, dict] = {}
    for c in cases:
        facts = per_merchant.setdefault(c.merchant_id, {
            "topic": "incident_update", "message": body, "incident": incident.pk, "case_id": c.pk,
            "case_reference": c.reference, "revised": [],
        })
        if c.new_expected_by and c.transaction_id:
            facts["revised"].append([c.transaction.reference, c.new_expected_by.isoformat()])
    notifications_create(kind=Notification.Kind.CASE_UPDATE, items=[
        (merchant_id, None, facts.pop("case_id"), facts) for merchant_id, facts in per_merchant.items()
    ], now=now)
    return update
