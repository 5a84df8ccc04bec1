"""Per-item validation for the batch endpoints.

Batches are validated item by item so one bad item never blocks the rest, and in plain
Python because a DRF serializer per item costs ~10x more than the insert it guards
(BENCHMARKS.md). The DRF serializers in serializers.py document the same shapes for the
schema; tests/channels/test_api_schema.py keeps the two in step. Error messages never
echo the submitted values (they might carry card data).
"""

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from settlement.lifecycle import LIFECYCLE_EVENT_TYPES
from settlement.models import MASKED_PAN_REGEX, Transaction
from settlement.pan import contains_full_pan
from settlement.services.events import EventInput
from settlement.services.ingest import SwipeInput

CURRENCIES = frozenset({"CNY"})
MAX_AMOUNT = Decimal("99999999.99")  # 1e8 CNY for one swipe is a data error, not a sale
_AMOUNT = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,2})?$")
_MASKED_PAN = re.compile(MASKED_PAN_REGEX)
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CAPTURE_MAX_AGE = timedelta(days=400)
CLOCK_SKEW = timedelta(minutes=5)
RESERVED_EVENT_PREFIX = "captured:"  # our own capture events (settlement.services.transactions)


class ItemError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def has_full_pan(item: Any) -> bool:
    """A full card number anywhere in this item (keys, strings or numbers)."""
    try:
        return contains_full_pan(json.dumps(item, ensure_ascii=False))
    except RecursionError:
        return True  # nested beyond reason: refuse rather than guess


def text(item: dict, name: str, *, max_length: int, required: bool = True, default: str = "") -> str:
    value = item.get(name)
    if value is None:
        if required:
            raise ItemError("missing_field", f"{name} is required.")
        return default
    if not isinstance(value, str):
        raise ItemError("invalid_type", f"{name} must be a string.")
    value = value.strip()
    if "\x00" in value:
        raise ItemError("invalid_characters", f"{name} contains a NUL character.")
    if required and not value:
        raise ItemError("missing_field", f"{name} must not be empty.")
    if len(value) > max_length:
        raise ItemError("too_long", f"{name} is longer than {max_length} characters.")
    return value


def aware_datetime(item: dict, name: str, *, now: datetime) -> datetime:
    value = item.get(name)
    if value is None:
        raise ItemError("missing_field", f"{name} is required.")
    if not isinstance(value, str) or len(value) > 40:
        raise ItemError("invalid_datetime", f"{name} must be an ISO 8601 date-time string.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ItemError("invalid_datetime", f"{name} must be an ISO 8601 date-time string.") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ItemError("naive_datetime", f"{name} needs a UTC offset (e.g. +08:00).")
    try:
        # Stored as UTC: PostgreSQL refuses offsets Python accepts (e.g. +23:59).
        parsed = parsed.astimezone(UTC)
    except OverflowError:
        raise ItemError("datetime_out_of_range", f"{name} is out of range.") from None
    if parsed < _EARLIEST:
        raise ItemError("datetime_out_of_range", f"{name} is before 2000.")
    if parsed > now + CLOCK_SKEW:
        raise ItemError(f"{name.removesuffix('_at')}_in_future", f"{name} is in the future.")
    return parsed


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


def _object(item: Any, check_pan: bool) -> dict:
    if not isinstance(item, dict):
        raise ItemError("invalid_item", "Each item must be a JSON object.")
    if check_pan:
        try:
            dumped = json.dumps(item, ensure_ascii=False)
        except RecursionError:
            raise ItemError("invalid_item", "The item is nested too deeply.") from None
        if contains_full_pan(dumped):
            raise ItemError("full_pan_forbidden", "A full card number is not accepted; send first 6 + last 4 at most.")
        if "\\u0000" in dumped:  # PostgreSQL text and jsonb cannot hold NUL
            raise ItemError("invalid_characters", "NUL characters are not accepted.")
    return item


def parse_transaction(item: Any, *, now: datetime, check_pan: bool = True) -> SwipeInput:
    item = _object(item, check_pan)
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


_EVENT_FIELDS = {"event_id", "reference", "type", "occurred_at", "payout_reference", "reason"}


def parse_event(item: Any, *, now: datetime, check_pan: bool = True) -> EventInput:
    item = _object(item, check_pan)
    event_id = text(item, "event_id", max_length=100)
    if event_id.startswith(RESERVED_EVENT_PREFIX):
        raise ItemError("reserved_event_id", f"event ids starting with {RESERVED_EVENT_PREFIX!r} are ours.")
    kind = text(item, "type", max_length=10)
    if kind not in LIFECYCLE_EVENT_TYPES:
        raise ItemError("invalid_event_type", f"type must be one of {', '.join(sorted(LIFECYCLE_EVENT_TYPES))}.")
    return EventInput(
        event_id=event_id,
        reference=text(item, "reference", max_length=64),
        type=kind,
        occurred_at=aware_datetime(item, "occurred_at", now=now),
        payout_reference=text(item, "payout_reference", max_length=64, required=False),
        reason=text(item, "reason", max_length=300, required=False),
        # Anything else the acquirer sent stays in the audit trail.
        payload={k: v for k, v in item.items() if k not in _EVENT_FIELDS},
    )
