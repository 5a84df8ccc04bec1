"""EventInput.fingerprint: what makes two deliveries of one event id the same body."""

from datetime import UTC, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st


@given(st.text(), st.text(), st.text(), st.sampled_from(["cleared", "settled", "credited"]),
       st.datetimes(timezones=st.sampled_from([None, UTC, timezone(timedelta(hours=8))])))
def test_an_event_fingerprint_is_the_json_of_its_five_fields(reference, payout_reference, reason, kind, occurred_at):
    """Stored fingerprints were json.dumps(..., sort_keys=True) of these fields: the
    hand-built string must stay byte for byte the same."""
    import hashlib
    import json

    from settlement.services.events import EventInput

    item = EventInput("e1", reference, kind, occurred_at, payout_reference, reason)
    body = {"reference": reference, "type": kind, "payout_reference": payout_reference, "reason": reason,
            "occurred_at": occurred_at.astimezone(UTC).isoformat() if occurred_at.tzinfo else occurred_at.isoformat()}
    assert item.fingerprint() == hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
