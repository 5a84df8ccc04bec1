"""对账状态 of one bank credit, for the merchant: Reconciled / Difference / not yet, from
the reconciliation breaks of its swipes and the stored payout discrepancy. One query."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, Exists, OuterRef, Q, Subquery, Sum
from django.db.models.functions import Coalesce

from settlement.models import Payout, PayoutDiscrepancy, ReconciliationBreak, ReconciliationRun, Transaction

ZERO = Decimal("0.00")
SWIPE_KINDS = ("amount_mismatch", "fee_mismatch", "status_mismatch", "missing_in_file")


@dataclass(frozen=True)
class CreditReconciliation:
    swipes: int
    unchecked: int  # swipes whose business date has no settlement file yet
    amount_breaks: int
    fee_breaks: int
    status_breaks: int
    missing: int
    file_difference: Decimal  # theirs - ours over the open breaks (amounts and fees)
    credit_difference: Decimal  # the stored payout discrepancy, ZERO when none is open

    @property
    def open_breaks(self) -> int:
        return self.amount_breaks + self.fee_breaks + self.status_breaks + self.missing

    @property
    def file_magnitude(self) -> Decimal:
        return abs(self.file_difference)

    @property
    def state(self) -> str:
        """differences / reconciled / not_yet (a swipe's settlement file has not come yet)."""
        if self.open_breaks or self.credit_difference:
            return "differences"
        return "reconciled" if self.swipes and not self.unchecked else "not_yet"


def _open_breaks(kind: str | None = None):
    q = ReconciliationBreak.objects.filter(transaction_id=OuterRef("pk"),
                                           status__in=ReconciliationBreak.OPEN_STATUSES)
    return q.filter(kind=kind) if kind else q.filter(kind__in=SWIPE_KINDS)


def credit_reconciliation(payout: Payout, *, discrepancy: PayoutDiscrepancy | None) -> CreditReconciliation:
    """Aggregated over the payout's own merchant's swipes (as the page lists them), in one
    query; `discrepancy` is the payout's open one, which the page has already read."""
    filed = ReconciliationRun.objects.filter(channel_id=OuterRef("channel_id"),
                                             business_date=OuterRef("business_date"), file__is_current=True)
    difference = _open_breaks().values("transaction_id").annotate(d=Sum("difference")).values("d")
    row = Transaction.objects.filter(payout=payout, merchant_id=payout.merchant_id).aggregate(
        swipes=Count("id"),
        unchecked=Count("id", filter=~Exists(filed)),
        amount_breaks=Count("id", filter=Exists(_open_breaks("amount_mismatch"))),
        fee_breaks=Count("id", filter=Exists(_open_breaks("fee_mismatch"))),
        status_breaks=Count("id", filter=Exists(_open_breaks("status_mismatch"))),
        missing=Count("id", filter=Exists(_open_breaks("missing_in_file"))),
        file_difference=Coalesce(Sum(Subquery(difference), filter=Q(Exists(_open_breaks()))), ZERO,
                                 output_field=DecimalField(max_digits=16, decimal_places=2)),
    )
    return CreditReconciliation(**row, credit_difference=discrepancy.difference if discrepancy else ZERO)
