"""The simulator's push client: our acquirer API, signed the Standard Webhooks way.

A retry of a request reuses its `webhook-id` and body (at-least-once delivery); a
new request gets a new id. Signatures come from the `standardwebhooks` package.
"""

import json
import logging
import random
import time
import uuid
from datetime import UTC, datetime

import requests
from standardwebhooks.webhooks import Webhook

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1/acquirer"
# Worth retrying: the request may not have been processed, or was and the answer got lost.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def encode(body: dict) -> str:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


class PushClient:
    def __init__(self, *, target: str, channel: str, secret: str, timeout: float = 5.0,
                 session: requests.Session | None = None):
        self.base = f"{target.rstrip('/')}{API_PREFIX}/{channel}/"
        self.webhook = Webhook(secret)
        self.timeout = timeout
        self.session = session or requests.Session()

    def headers(self, webhook_id: str, body: str, now: datetime | None = None) -> dict[str, str]:
        now = now or datetime.now(UTC)
        return {
            "content-type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": self.webhook.sign(webhook_id, now, body),
        }

    def send_once(self, method: str, path: str, body: str, webhook_id: str) -> requests.Response:
        """One attempt. The timestamp is fresh on every attempt, as the spec asks."""
        return self.session.request(
            method, self.base + path, data=body.encode(), headers=self.headers(webhook_id, body), timeout=self.timeout
        )

    def deliver(self, method: str, path: str, body: dict | str, *, webhook_id: str | None = None,
                attempts: int = 5, base_delay: float = 0.2, max_delay: float = 5.0) -> int:
        """Send until a non-transient answer; the same webhook-id on every retry.
        Returns the last HTTP status, or 0 when the target never answered."""
        webhook_id = webhook_id or new_webhook_id()
        text = body if isinstance(body, str) else encode(body)
        status = 0
        for attempt in range(attempts):
            try:
                status = self.send_once(method, path, text, webhook_id).status_code
            except requests.RequestException as exc:
                log.info("push %s %s failed: %s", method, path, exc.__class__.__name__)
                status = 0
            if status and status not in TRANSIENT_STATUSES:
                return status
            if attempt < attempts - 1:
                time.sleep(random.uniform(0, min(max_delay, base_delay * 2**attempt)))  # full jitter
        return status


def is_transient(status: int) -> bool:
    return status == 0 or status in TRANSIENT_STATUSES
