"""Payouts (合并到账): one bank credit covering many swipes of one merchant.

The acquirer names the swipes a payout covers; we link those of the same merchant and
compare the payout amount with the sum of their net amounts. A difference is answered
and logged as a discrepancy, never smoothed over. Linking does not change any status:
statuses move only through events (settlement.services.events).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction as db_transaction
from django.db.models import Count, Sum
from django.utils import timezone

from channels.models import Channel
from merchants.models import Merchant
from settlement.models import Payout, Transaction

log = logging.getLogger(__name__)


class PayoutError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class PayoutInput:
    reference: str
    merchant_no: str
    amount: Decimal
    status: str
    transaction_references: tuple[str, ...] = ()
    sent_at: datetime | None = None
    credited_at: datetime | None = None
    currency: str = "CNY"


@dataclass
class PayoutResult:
    payout: Payout
    created: bool
    net_total: Decimal
    transaction_count: int
    rejected: list[dict] = field(default_factory=list)

    @property
    def discrepancy(self) -> Decimal:
        """Payout amount minus the net of the swipes it covers; zero when it adds up."""
        return self.payout.amount - self.net_total


@db_transaction.atomic
def payout_upsert(*, channel: Channel, data: PayoutInput) -> PayoutResult:
    merchant = Merchant.objects.filter(channel=channel, merchant_no=data.merchant_no).first()
    if merchant is None:
        raise PayoutError("unknown_merchant", "No merchant with this merchant_no on this channel.")
    values = {
        "amount": data.amount, "currency": data.currency, "status": data.status,
        "sent_at": data.sent_at, "credited_at": data.credited_at,
    }
    payout, created = Payout.objects.select_for_update().get_or_create(
        channel=channel, reference=data.reference, defaults={"merchant": merchant, **values}
    )
    if payout.merchant_id != merchant.pk:
        raise PayoutError("payout_merchant_mismatch", "This payout_reference belongs to another merchant.")
    if not created:
        changed = [name for name, value in values.items() if value is not None and getattr(payout, name) != value]
        for name in changed:
            setattr(payout, name, values[name])
        if changed:
            payout.save(update_fields=[*changed, "updated_at"])

    rejected = _link(channel=channel, payout=payout, references=data.transaction_references)
    totals = Transaction.objects.filter(payout=payout).aggregate(net=Sum("net"), n=Count("id"))
    result = PayoutResult(
        payout=payout, created=created, net_total=totals["net"] or Decimal("0.00"),
        transaction_count=totals["n"], rejected=rejected,
    )
    if result.discrepancy:
        log.warning(
            "payout discrepancy channel=%s payout=%s amount=%s net_total=%s difference=%s",
            channel.code, payout.reference, payout.amount, result.net_total, result.discrepancy,
        )
    return result


def _link(*, channel: Channel, payout: Payout, references: tuple[str, ...]) -> list[dict]:
    """Point the named swipes at the payout; one answer per reference we could not link."""
    if not references:
        return []
    rows = {
        row["reference"]: row
        for row in Transaction.objects.select_for_update()
        .filter(channel=channel, reference__in=set(references))
        .order_by("id")
        .values("id", "reference", "merchant_id", "payout_id")
    }
    rejected, link_ids = [], []
    for reference in dict.fromkeys(references):
        row = rows.get(reference)
        if row is None:
            rejected.append({"reference": reference, "code": "unknown_reference",
                             "message": "No transaction with this reference on this channel."})
        elif row["merchant_id"] != payout.merchant_id:
            rejected.append({"reference": reference, "code": "merchant_mismatch",
                             "message": "The transaction belongs to another merchant."})
        elif row["payout_id"] not in (None, payout.pk):
            rejected.append({"reference": reference, "code": "linked_to_other_payout",
                             "message": "The transaction is already covered by another payout."})
        elif row["payout_id"] is None:
            link_ids.append(row["id"])
    if link_ids:
        Transaction.objects.filter(id__in=link_ids).update(payout=payout, updated_at=timezone.now())
    return rejected
