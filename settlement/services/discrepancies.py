"""Payout discrepancies as stored facts: a payout whose amount differs from the net of
its swipes, less what its lines explain (refunds, chargebacks, reserve, adjustments),
is a PayoutDiscrepancy row and one open data-error case for staff; a later
post that makes the sums agree resolves the row and says so on the case.

Called by the payout door with the payouts it holds locked, so two posts cannot race
on one payout's row or case; a constant number of statements for any number of payouts.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Sum
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from channels.models import Channel
from channels.selectors import business_days_for
from settlement.models import CaseEntry, FollowUpCase, Payout, PayoutDiscrepancy, PayoutLine
from settlement.models.payouts import EXPLAINING_KINDS
from settlement.payout_lifecycle import PayoutStatus
from settlement.services.delays import case_sla_due

log = logging.getLogger(__name__)

# The cause rule the late scan and the case page already know (services.causes).
MISMATCH_RULE = "payout_amount_mismatch"


@dataclass(frozen=True)
class SwipeTotals:
    count: int = 0
    credited: int = 0
    net: Decimal = Decimal("0.00")
    last_credited_at: datetime | None = None


def case_reference_for(discrepancy: PayoutDiscrepancy) -> str:
    # D = raised by a data check; the discrepancy id keeps it unique across months.
    return f"D{discrepancy.found_at:%y%m}-{discrepancy.pk:06d}"


def discrepancies_check(
    *, channel: Channel, payouts: list[Payout], totals: dict[int, SwipeTotals], now: datetime
) -> dict[int, PayoutDiscrepancy | None]:
    """Store, update or resolve the discrepancy of each payout (locked by the caller).

    A returned payout is not checked: the bank sent the money back and its swipes move
    to the re-payment, so "amount vs swipes" says nothing about it until it is sent again.
    """
    checked = [p for p in payouts if p.status != PayoutStatus.RETURNED]
    if not checked:
        return {}
    ids = [p.pk for p in checked]
    open_rows = {d.payout_id: d for d in PayoutDiscrepancy.objects.filter(payout__in=ids, resolved_at__isnull=True)}
    explained = lines_explained(ids)
    found, changed, resolved = [], [], []
    answer: dict[int, PayoutDiscrepancy | None] = {}
    for payout in checked:
        sums = totals.get(payout.pk, SwipeTotals())
        lines = explained.get(payout.pk, Decimal("0.00"))
        expected = sums.net + lines
        difference = payout.amount - expected
        row = open_rows.get(payout.pk)
        if not difference:
            if row is not None:
                row.resolved_at = row.updated_at = now
                resolved.append((payout, row))
            answer[payout.pk] = None
            continue
        if row is None:
            row = PayoutDiscrepancy(payout=payout, amount=payout.amount, expected=expected, explained=lines,
                                    difference=difference, swipe_count=sums.count, found_at=now, updated_at=now)
            found.append((payout, row))
        elif (row.amount, row.expected, row.explained, row.swipe_count) != (payout.amount, expected, lines, sums.count):
            row.amount, row.expected, row.explained, row.difference = payout.amount, expected, lines, difference
            row.swipe_count, row.updated_at = sums.count, now
            changed.append(row)
        answer[payout.pk] = row
    if found:
        PayoutDiscrepancy.objects.bulk_create([row for _, row in found])
        for payout, row in found:
            log.warning(
                "payout discrepancy channel=%s payout=%s amount=%s net_total=%s difference=%s",
                channel.code, payout.reference, row.amount, row.expected, row.difference,
            )
    if changed or resolved:
        PayoutDiscrepancy.objects.bulk_update(
            [*changed, *(row for _, row in resolved)],
            ["amount", "expected", "explained", "difference", "swipe_count", "updated_at", "resolved_at"],
        )
    if found or resolved:
        _cases_follow(channel=channel, found=found, resolved=resolved, now=now)
    return answer


def lines_explained(payout_ids: list[int]) -> dict[int, Decimal]:
    """Per payout: the sum of its lines that explain a credit other than its swipes' net."""
    if not payout_ids:
        return {}
    rows = (PayoutLine.objects.filter(payout_id__in=payout_ids, kind__in=list(EXPLAINING_KINDS))
            .values("payout_id").annotate(total=Sum("amount")))
    return {r["payout_id"]: r["total"] for r in rows}


def _evidence(payout: Payout, row: PayoutDiscrepancy) -> dict:
    return {
        "rule": MISMATCH_RULE,
        "discrepancy_id": row.pk,
        "payout": {"reference": payout.reference, "amount": str(row.amount), "sum_of_nets": str(row.expected),
                   "explained_by_lines": str(row.explained), "difference": str(row.difference),
                   "swipes": row.swipe_count},
    }


def _cases_follow(*, channel: Channel, found: list, resolved: list, now: datetime) -> None:
    """One open data-error case per payout (case_one_open_data_error_per_payout): a new
    discrepancy opens it or joins the open one; a resolved one is noted on it, and staff
    close the case (they may want to ask the acquirer why it changed)."""
    ids = [p.pk for p, _ in (*found, *resolved)]
    open_cases = {
        c.payout_id: c
        for c in FollowUpCase.objects.filter(payout_id__in=ids, transaction__isnull=True,
                                             cause=FollowUpCase.Cause.DATA_ERROR)
        .exclude(status=FollowUpCase.Status.RESOLVED)
    }
    new_cases = []
    entries = []
    if found:
        sla = case_sla_due(days=business_days_for(channel.calendar_id), opened_at=now, tz=ZoneInfo(channel.timezone),
                           business_days=settings.DELAYS_CASE_SLA_BUSINESS_DAYS)
        for payout, row in found:
            case = open_cases.get(payout.pk)
            if case is None:
                new_cases.append(FollowUpCase(
                    reference=case_reference_for(row), payout=payout, merchant_id=payout.merchant_id,
                    channel_id=payout.channel_id, origin=FollowUpCase.Origin.SYSTEM,
                    cause=FollowUpCase.Cause.DATA_ERROR, cause_evidence=_evidence(payout, row),
                    amount_at_stake=abs(row.difference), opened_at=now, sla_due_at=max(sla, now + timedelta(hours=1)),
                    last_action_at=now,
                ))
            else:
                entries.append((case, {"discrepancy_id": row.pk, "difference": str(row.difference)},
                                _("The amounts differ again: bank credit %(a)s, swipes %(s)s.")))
    if new_cases:
        FollowUpCase.objects.bulk_create(new_cases)
        entries += [(c, {"origin": FollowUpCase.Origin.SYSTEM, "cause": c.cause}, "") for c in new_cases]
    for payout, row in resolved:
        case = open_cases.get(payout.pk)
        if case is not None:
            entries.append((case, {"discrepancy_id": row.pk},
                            _("A later post made the amounts agree: bank credit %(a)s, swipes %(s)s.")))
    if not entries:
        return
    amounts = {p.pk: (str(p.amount), str(r.expected)) for p, r in (*found, *resolved)}
    with translation.override(settings.LANGUAGE_CODE):  # system entries read in the staff's default language
        CaseEntry.objects.bulk_create([
            CaseEntry(
                case=case, kind=CaseEntry.Kind.OPENED if not body else CaseEntry.Kind.NOTE, data=data, created_at=now,
                body=(str(body) % {"a": amounts[case.payout_id][0], "s": amounts[case.payout_id][1]}) if body else "",
            )
            for case, data, body in entries
        ])
    touched = [case.pk for case, _data, body in entries if body]
    if touched:
        FollowUpCase.objects.filter(pk__in=touched).update(last_action_at=now)
