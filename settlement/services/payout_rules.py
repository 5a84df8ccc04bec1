"""What follows when a payout or its swipes change: the credited-by-swipes rule and the
discrepancy check. Both called by the payout door with the payouts locked; a constant
number of statements for any number of payouts."""

from datetime import datetime

from django.db.models import Count, Max, Q, Sum

from channels.models import Channel
from settlement.lifecycle import Status
from settlement.models import Payout, PayoutDiscrepancy, PayoutEvent, Transaction
from settlement.payout_lifecycle import CREDITED_BY_SWIPES_FROM, CREDITED_BY_SWIPES_RULE, PayoutStatus
from settlement.services.discrepancies import SwipeTotals, discrepancies_check


def swipe_totals(payout_ids: set[int]) -> dict[int, SwipeTotals]:
    """Per payout: how many swipes, how many credited, their net sum, the last credit."""
    if not payout_ids:
        return {}
    rows = (
        Transaction.objects.filter(payout_id__in=payout_ids)
        .values("payout_id")
        .annotate(n=Count("id"), credited=Count("id", filter=Q(status=Status.CREDITED)), net=Sum("net"),
                  last=Max("credited_at"))
    )
    found = {r["payout_id"]: SwipeTotals(r["n"], r["credited"], r["net"], r["last"]) for r in rows}
    return {pk: found.get(pk, SwipeTotals()) for pk in payout_ids}


def payouts_after_change(
    *, channel: Channel, payouts: list[Payout], recheck: set[int], now: datetime
) -> tuple[dict[int, SwipeTotals], dict[int, PayoutDiscrepancy | None]]:
    """Apply CREDITED_BY_SWIPES_RULE to `payouts`, then re-check the discrepancies of
    those in `recheck` (their amount or swipe set changed)."""
    totals = swipe_totals({p.pk for p in payouts})
    credit_by_swipes(payouts=payouts, totals=totals, now=now)
    found = discrepancies_check(channel=channel, payouts=[p for p in payouts if p.pk in recheck], totals=totals,
                                now=now)
    return totals, found


def credit_by_swipes(*, payouts: list[Payout], totals: dict[int, SwipeTotals], now: datetime) -> list[Payout]:
    """A pending or sent payout whose every swipe (at least one) is credited is credited:
    the bank credit arrived. Its time is the last swipe's credit, never before the
    payout's own last status (a credit cannot precede the sending)."""
    moved, rows = [], []
    for payout in payouts:
        sums = totals.get(payout.pk)
        if payout.status not in CREDITED_BY_SWIPES_FROM or not sums or not sums.count or sums.credited < sums.count:
            continue
        at = sums.last_credited_at
        if at is None or (payout.status_at is not None and at < payout.status_at):
            at = payout.status_at or now
        rows.append(PayoutEvent(
            payout=payout, kind=PayoutEvent.Kind.STATUS, source=PayoutEvent.Source.SYSTEM,
            from_status=payout.status, to_status=PayoutStatus.CREDITED, rule=CREDITED_BY_SWIPES_RULE,
            occurred_at=at, recorded_at=now, payload={"swipes": sums.count},
        ))
        payout.status, payout.credited_at, payout.status_at, payout.updated_at = PayoutStatus.CREDITED, at, at, now
        moved.append(payout)
    if moved:
        Payout.objects.bulk_update(moved, ["status", "credited_at", "status_at", "updated_at"])
        PayoutEvent.objects.bulk_create(rows)
    return moved
