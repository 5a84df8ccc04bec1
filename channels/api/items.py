"""Per-item validation for the batch endpoints (swipes here; events in settlement.items,
shared with poll answers).

Batches are validated item by item so one bad item never blocks the rest, and in plain
Python because a DRF serializer per item costs ~10x more than the insert it guards
(BENCHMARKS.md). The DRF serializers in serializers.py document the same shapes for the
schema; tests/channels/test_api_schema.py keeps the two in step. Error messages never
echo the submitted values (they might carry card data).
"""

import re
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from settlement.items import (  # noqa: F401  (the event rules live there, shared with polling)
    EVENT_FIELDS,
    RESERVED_EVENT_ID_PREFIXES,
    ItemError,
    aware_datetime,
    has_full_pan,
    item_object,
    parse_event,
    text,
)
from settlement.models import MASKED_PAN_REGEX, Transaction
from settlement.pan import contains_full_pan
from settlement.services.ingest import SwipeInput

CURRENCIES = frozenset({"CNY"})
MAX_AMOUNT = Decimal("99999999.99")  # 1e8 CNY for one swipe is a data error, not a sale
_AMOUNT = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
_MASKED_PAN = re.compile(MASKED_PAN_REGEX)
CAPTURE_MAX_AGE = timedelta(days=400)


def money(item: dict, name: str) -> Decimal:
    value = item.get(name)
    if value is None:
        raise ItemError("missing_field", f"{name} is required.")
    if isinstance(value, bool) or isinstance(value, float):
        raise ItemError("invalid_amount", f'{name} must be a decimal string such as "1280.00".')
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise ItemError("invalid_amount", f'{name} must be a decimal string such as "1280.00".')
    value = value.strip()
    if value.startswith("-"):
        raise ItemError("amount_not_positive", f"{name} must be greater than zero.")
    if not _AMOUNT.match(value):
        raise ItemError("invalid_amount", f'{name} must be a decimal string with at most 2 places, e.g. "1280.00".')
    try:
        amount = Decimal(value)
    except InvalidOperation:  # pragma: no cover - the regex already refused it
        raise ItemError("invalid_amount", f"{name} is not a number.") from None
    if amount <= 0:
        raise ItemError("amount_not_positive", f"{name} must be greater than zero.")
    if amount > MAX_AMOUNT:
        raise ItemError("amount_too_large", f"{name} is larger than {MAX_AMOUNT}.")
    return amount


def reference_of(item: Any, name: str) -> str | None:
    """An identifier to echo in a rejection: only a short string, never a card number."""
    value = item.get(name) if isinstance(item, dict) else None
    if not isinstance(value, str) or len(value) > 100 or contains_full_pan(value):
        return None
    return value


def parse_transaction(item: Any, *, now: datetime, check_pan: bool = True) -> SwipeInput:
    item = item_object(item, check_pan)
    currency = text(item, "currency", max_length=3, required=False, default="CNY").upper()
    if currency not in CURRENCIES:
        raise ItemError("unsupported_currency", "Only CNY is handled.")
    masked_pan = text(item, "masked_pan", max_length=19, required=False)
    if masked_pan and not _MASKED_PAN.match(masked_pan):
        raise ItemError("invalid_masked_pan", "masked_pan must look like 622202******1234 (first 6 + last 4 at most).")
    method = text(item, "method", max_length=12, required=False, default=Transaction.Method.CHIP).lower()
    if method not in Transaction.Method.values:
        raise ItemError("invalid_method", f"method must be one of {', '.join(Transaction.Method.values)}.")
    captured_at = aware_datetime(item, "captured_at", now=now)
    if captured_at < now - CAPTURE_MAX_AGE:
        raise ItemError("captured_too_old", "captured_at is more than 400 days ago.")
    return SwipeInput(
        reference=text(item, "reference", max_length=64),
        merchant_no=text(item, "merchant_no", max_length=32),
        terminal_sn=text(item, "terminal_sn", max_length=64, required=False),
        amount=money(item, "amount"),
        currency=currency,
        masked_pan=masked_pan,
        method=method,
        captured_at=captured_at,
    )
