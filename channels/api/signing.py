"""How to sign a request (client side): used by the tests, the benchmark, the simulated
acquirer and quoted in the API docs. Pure Python, no Django imports."""

import uuid
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SIGNING_GUIDE = """
## Signing a request (Standard Webhooks)

Every call to `/api/v1/acquirer/{channel_code}/...` is signed like a Standard Webhooks
webhook, over the exact bytes of the body (an empty body for GET):

```
webhook-id:        <unique id of this request; a retry of the same request reuses it>
webhook-timestamp: <unix seconds; refused when more than 300 s from our clock>
webhook-signature: v1,<base64 HMAC-SHA256(secret, "<id>.<timestamp>.<raw body>")>
```

The secret is your channel's `whsec_...` (printed by `manage.py addchannel`). While a
secret is being rotated both are accepted, and the header may carry several
space-separated signatures. Failures answer 401 with a stable `error.code`:
`unknown_channel`, `missing_signature_headers`, `invalid_signature_headers`,
`timestamp_out_of_window`, `invalid_signature`. A write repeated with an accepted
`webhook-id` (a retry, or a replay) gets the first answer back with
`Idempotent-Replayed: true` and is not applied again; the same id over another body is
`409 webhook_id_reused`. Bodies over 1 MiB and batches over
1,000 items answer 413 (`payload_too_large`, `batch_too_large`). Never send a full
card number (`full_pan_forbidden`): first 6 + last 4 at most.

Our status queries to your API (`POST <poll_url> {"references": [...]}`, https only)
are signed the same way with the channel's *poll secret* (`manage.py addchannel` prints
it): verify them. Sign your answer with your signing secret and our query's
`webhook-id`; an answer that is not signed so is treated as a failed poll.

Copy-paste Python (`pip install standardwebhooks requests`):

```python
import json
import uuid
from datetime import datetime, timezone

import requests
from standardwebhooks.webhooks import Webhook

SECRET = "whsec_..."  # your channel's signing secret
BASE = "http://127.0.0.1:8000/api/v1/acquirer/demo-acq"


def signed(method, path, payload=None, msg_id=None):
    body = json.dumps(payload, ensure_ascii=False) if payload is not None else ""
    msg_id = msg_id or str(uuid.uuid4())  # keep it when you retry the same request
    now = datetime.now(tz=timezone.utc)
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(SECRET).sign(msg_id, now, body),
    }
    return requests.request(method, f"{BASE}/{path}", data=body.encode(), headers=headers, timeout=10)


r = signed("POST", "events", {"events": [{
    "event_id": "ev-0001", "reference": "RRN000123", "type": "settled",
    "occurred_at": "2026-11-21T16:00:00+08:00"}]})
print(r.status_code, r.json())
print(signed("GET", "transactions/RRN000123").json())
```
"""


def signed_headers(
    secret: str, body: bytes | str, *, msg_id: str | None = None, timestamp: datetime | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """The three Standard Webhooks headers (and Content-Type) for one request."""
    text = body.decode() if isinstance(body, bytes) else body
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    timestamp = timestamp or datetime.now(tz=UTC)
    return {
        "content-type": content_type,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, timestamp, text),
    }
