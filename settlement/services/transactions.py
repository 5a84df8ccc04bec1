from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction as db_transaction
from django.utils import timezone

from channels.business_days import BusinessDays
from channels.models import Channel
from merchants.models import Merchant, Terminal
from settlement.lifecycle import EventType, Status
from settlement.models import SettlementEvent, Transaction
from settlement.pan import contains_full_pan
from settlement.services.schedule import fee_for, schedule_fields


class TransactionError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class NewTransaction:
    reference: str
    merchant: Merchant
    amount: Decimal
    captured_at: datetime
    terminal: Terminal | None = None
    masked_pan: str = ""
    method: str = Transaction.Method.CHIP
    currency: str = "CNY"


def captured_event_id(reference: str) -> str:
    # The capture has no acquirer event id; this one is deterministic so it is unique.
    return f"captured:{reference}"


def build_transaction(
    *, channel: Channel, item: NewTransaction, days: BusinessDays | None = None, now: datetime | None = None
) -> Transaction:
    """An unsaved Transaction with fee, net, expected arrival and first poll filled in."""
    if contains_full_pan(item.masked_pan):
        raise TransactionError("full_pan_forbidden", "A full card number is not accepted; send first 6 + last 4.")
    fee = fee_for(item.amount, item.merchant.fee_rate_bps)
    now = now or timezone.now()
    return Transaction(
        channel=channel,
        reference=item.reference,
        merchant=item.merchant,
        terminal=item.terminal,
        amount=item.amount,
        fee=fee,
        net=item.amount - fee,
        currency=item.currency,
        masked_pan=item.masked_pan,
        method=item.method,
        captured_at=item.captured_at,
        status=Status.CAPTURED,
        next_poll_at=now,
        **schedule_fields(
            channel=channel, cycle=item.merchant.settlement_cycle, captured_at=item.captured_at, days=days
        ),
    )


def captured_event(txn: Transaction, *, source: str, now: datetime) -> SettlementEvent:
    return SettlementEvent(
        channel_id=txn.channel_id,
        transaction=txn,
        event_id=captured_event_id(txn.reference),
        type=EventType.CAPTURED,
        source=source,
        to_status=Status.CAPTURED,
        occurred_at=txn.captured_at,
        received_at=now,
    )


@db_transaction.atomic
def transaction_create(
    *, channel: Channel, item: NewTransaction, source: str = SettlementEvent.Source.PUSH
) -> Transaction:
    """Create one swipe with its `captured` event (demo data, tests, staff)."""
    now = timezone.now()
    txn = build_transaction(channel=channel, item=item, now=now)
    txn.save()
    captured_event(txn, source=source, now=now).save()
    return txn
