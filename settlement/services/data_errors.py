"""Data-error cases: an acquirer (or poll) event contradicted a final status.

Final is final (settlement.lifecycle): the contradicting event is stored with outcome
`contradicts_final` and never applied, and a human decides. Each swipe has at most one
open data-error case: the first contradiction opens it, later ones join it (a new entry,
the evidence list grows). A swipe that already has an open case of another cause (the
one-open-case constraint allows one) has that case turned into the data-error case.

Called by events_apply inside its transaction, with the swipes' rows locked; costs no
statement when there is no contradiction, which is the usual batch.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.utils.translation import gettext as _

from channels.models import Channel
from channels.selectors import business_days_for
from settlement.lifecycle import Status
from settlement.models import CaseEntry, FollowUpCase, SettlementEvent, Transaction
from settlement.models.cases import Cause
from settlement.references import case_reference, provisional_case_reference
from settlement.services.delays import case_sla_due

RULE = "contradicts_final"
OPEN_STATUSES = [FollowUpCase.Status.OPEN, FollowUpCase.Status.CLAIMED, FollowUpCase.Status.ESCALATED,
                 FollowUpCase.Status.WAITING_MERCHANT, FollowUpCase.Status.WAITING_ACQUIRER]
# The case evidence keeps the first contradictions; every one is also a case entry.
MAX_LISTED = 20


@dataclass(frozen=True)
class Contradiction:
    transaction: Transaction
    final: dict  # the stored event that made the swipe final: event_id, type, occurred_at
    contradicting: dict  # event_id, type, occurred_at, source, received_at


def event_facts(*, event_id: str, type: str, occurred_at: datetime, **extra) -> dict:
    return {"event_id": event_id, "type": type, "occurred_at": occurred_at.isoformat(), **extra}


def data_errors_record(*, channel: Channel, contradictions: list[Contradiction], now: datetime) -> list[int]:
    """Open or join one data-error case per swipe; returns the case ids."""
    if not contradictions:
        return []
    by_txn: dict[int, list[Contradiction]] = defaultdict(list)
    for item in contradictions:
        by_txn[item.transaction.id].append(item)
    open_cases = {
        c.transaction_id: c
        for c in FollowUpCase.objects.select_for_update().filter(transaction_id__in=by_txn, status__in=OPEN_STATUSES)
    }
    case_ids = []
    for txn_id, items in by_txn.items():
        case = open_cases.get(txn_id) or _open(channel=channel, items=items, now=now)
        _join(case=case, items=items, now=now)
        case_ids.append(case.pk)
    return case_ids


def _evidence(items: list[Contradiction]) -> dict:
    first = items[0]
    return {
        "rule": RULE,
        "final_status": first.transaction.status,
        "final": first.final,
        "contradicting": [i.contradicting for i in items[:MAX_LISTED]],
        "count": len(items),
    }


def _open(*, channel: Channel, items: list[Contradiction], now: datetime) -> FollowUpCase:
    txn = items[0].transaction
    tz = ZoneInfo(channel.timezone)
    sla = case_sla_due(days=business_days_for(channel.calendar_id), opened_at=now, tz=tz,
                       business_days=settings.DELAYS_CASE_SLA_BUSINESS_DAYS)
    try:
        with db_transaction.atomic():
            case = FollowUpCase.objects.create(
                reference=provisional_case_reference(), transaction=txn, merchant_id=txn.merchant_id,
                channel=channel, origin=FollowUpCase.Origin.SYSTEM, cause=Cause.DATA_ERROR,
                cause_evidence=_evidence(items), amount_at_stake=txn.net, opened_at=now, sla_due_at=sla,
                last_action_at=now,
            )
    except IntegrityError:
        # An inquiry opened a case for this swipe meanwhile: that one becomes the data-error case.
        return FollowUpCase.objects.select_for_update().get(transaction=txn, status__in=OPEN_STATUSES)
    case.reference = case_reference(case.pk, now)
    FollowUpCase.objects.filter(pk=case.pk).update(reference=case.reference)
    CaseEntry.objects.create(case=case, kind=CaseEntry.Kind.OPENED, created_at=now,
                             data={"cause": Cause.DATA_ERROR, "origin": FollowUpCase.Origin.SYSTEM})
    case._fresh_evidence = True
    return case


def _join(*, case: FollowUpCase, items: list[Contradiction], now: datetime) -> None:
    if not getattr(case, "_fresh_evidence", False):
        if case.cause_evidence.get("rule") == RULE:
            evidence = dict(case.cause_evidence)
            evidence["contradicting"] = [*evidence.get("contradicting", []), *(i.contradicting for i in items)][
                :MAX_LISTED]
            evidence["count"] = evidence.get("count", 0) + len(items)
        else:
            evidence = _evidence(items)
        if case.cause != Cause.DATA_ERROR:
            CaseEntry.objects.create(case=case, kind=CaseEntry.Kind.CAUSE, created_at=now,
                                     data={"from": case.cause, "to": Cause.DATA_ERROR, "automatic": True})
        FollowUpCase.objects.filter(pk=case.pk).update(cause=Cause.DATA_ERROR, cause_evidence=evidence,
                                                       last_action_at=now)
    CaseEntry.objects.bulk_create([
        CaseEntry(case_id=case.pk, kind=CaseEntry.Kind.DATA_ERROR, created_at=now,
                  data={"final": i.final, "contradicting": i.contradicting})
        for i in items
    ])


def data_error_sides(case: FollowUpCase) -> dict | None:
    """For the staff case page: the final event and the contradicting ones, as stored
    event rows, to show side by side. None for other cases."""
    evidence = case.cause_evidence or {}
    if evidence.get("rule") != RULE or case.transaction_id is None:
        return None
    ids = [evidence.get("final", {}).get("event_id")] + [c.get("event_id") for c in evidence.get("contradicting", [])]
    rows = {e.event_id: e for e in SettlementEvent.objects.filter(transaction_id=case.transaction_id, event_id__in=ids)}
    status = evidence.get("final_status", "")
    return {
        "final_status": Status(status).label if status in Status.values else status,
        "final": rows.get(ids[0]),
        "contradicting": [rows[i] for i in ids[1:] if i in rows],
        "count": evidence.get("count", len(ids) - 1),
        "summary": _("The acquirer's data contradicts a final status: the later event was stored, not applied."),
    }
