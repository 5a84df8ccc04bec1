"""Item rules for events from outside, whatever the door they come through.

Pushed events (channels.api) and poll answers (settlement.services.polling) are judged
by the same function, `parse_event`: lengths, NUL characters, full card numbers in any
field, naive or future instants, unknown types, and the event id prefixes the system
writes itself. A bad item raises ItemError with a stable code and is refused alone.
Plain Python, not DRF: a serializer per item costs ~10x the insert it guards
(BENCHMARKS.md). Error messages never echo the submitted values (card data).
"""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from settlement.lifecycle import LIFECYCLE_EVENT_TYPES, RESERVED_EVENT_ID_PREFIXES
from settlement.pan import contains_full_pan
from settlement.services.events import EventInput

_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)
EVENT_FIELDS = {"event_id", "reference", "type", "occurred_at", "payout_reference", "reason"}


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


def suspect(items: Any) -> bool:
    """Cheap first look at a whole batch: items are examined one by one only when it hits."""
    try:
        dumped = json.dumps(items, ensure_ascii=False, default=str)
    except RecursionError:
        return True
    return contains_full_pan(dumped) or "\\u0000" in dumped


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


def item_object(item: Any, check_pan: bool) -> dict:
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


def parse_event(item: Any, *, now: datetime, check_pan: bool = True) -> EventInput:
    """One event item (pushed, or one event of a poll answer) as the door's input."""
    item = item_object(item, check_pan)
    event_id = text(item, "event_id", max_length=100)
    if event_id.startswith(RESERVED_EVENT_ID_PREFIXES):
        raise ItemError("reserved_event_id",
                        f"event ids starting with {', '.join(RESERVED_EVENT_ID_PREFIXES)} are ours.")
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
        payload={k: v for k, v in item.items() if k not in EVENT_FIELDS},
        # Checked here, or (check_pan=False) by the caller's look at the whole batch.
        pan_checked=True,
    )
