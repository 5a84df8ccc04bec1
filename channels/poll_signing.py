"""Signed status polls, both ways the Standard Webhooks way (pure, no Django imports:
the simulated acquirer uses it too).

- Our request carries webhook-id / webhook-timestamp / webhook-signature made with the
  channel's *poll secret*, so the acquirer knows the query is ours.
- The answer carries the same three headers made with the channel's signing secret
  (the one its pushes use) and *our request's webhook-id*, so an answer recorded
  earlier, or made by anyone without the secret, is not data.
- The daily settlement-file GET is signed the same two ways. It has no body, so the
  request signs `GET <path>` (the path names the channel and the business date) and the
  answer signs the file's bytes with our request's webhook-id.
- Plain http only to loopback hosts: anywhere else the answer could be rewritten on
  the way even when signed requests keep it honest, and the poll secret would travel
  in the clear beside it.
"""

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from channels.api.signing import signed_headers

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class PollSigning:
    request_secret: str  # the channel's poll secret: signs our query
    answer_secrets: tuple[str, ...]  # the channel's active signing secrets: one must sign the answer


def poll_url_problem(url: str, *, plain_http_hosts: tuple[str, ...] | list[str] = LOOPBACK_HOSTS) -> str | None:
    """Why this status API address is refused, or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return "The poll URL is not a valid URL."
    if parts.scheme == "https" and host:
        return None
    if parts.scheme == "http" and host in plain_http_hosts:
        return None
    return "The poll URL must use https:// (http:// only for localhost / 127.0.0.1)."


def file_request_payload(path: str) -> bytes:
    """What a settlement-file GET signs in place of a body: its method and path (no query)."""
    return f"GET {path}".encode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_") + "==")


def _mac(secret: str, msg_id: str, timestamp: str, data: bytes) -> bytes:
    return hmac.new(_key(secret), f"{msg_id}.{timestamp}.".encode() + data, hashlib.sha256).digest()


def sign_bytes(secret: str, data: bytes, *, msg_id: str) -> dict[str, str]:
    """Standard Webhooks headers over raw bytes, any encoding (a GB18030 file is not UTF-8,
    which the standardwebhooks package requires; for UTF-8 bytes the result is the same)."""
    timestamp = str(int(time.time()))
    signature = base64.b64encode(_mac(secret, msg_id, timestamp, data)).decode()
    return {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": f"v1,{signature}"}


def verified_bytes(secrets: tuple[str, ...] | list[str], data: bytes, headers, *, expect_id: str,
                   tolerance: int = 300) -> bool:
    """`verified` for raw bytes: one of `secrets` signed them for `expect_id`, within the window."""
    found = {name: headers.get(name, "") for name in SIGNATURE_HEADERS}
    if not all(found.values()) or found["webhook-id"] != expect_id:
        return False
    try:
        if abs(time.time() - int(found["webhook-timestamp"])) > tolerance:
            return False
        given = [base64.b64decode(part.split(",", 1)[1]) for part in found["webhook-signature"].split()
                 if part.startswith("v1,")]
        return any(hmac.compare_digest(_mac(secret, expect_id, found["webhook-timestamp"], data), sig)
                   for secret in secrets for sig in given)
    except (ValueError, binascii.Error):
        return False


def sign(secret: str, body: bytes, *, msg_id: str) -> dict[str, str]:
    return signed_headers(secret, body, msg_id=msg_id)


def verified(secrets: tuple[str, ...] | list[str], body: bytes, headers, *, expect_id: str | None = None) -> bool:
    """True when one of `secrets` signed `body` with these headers, inside the 5-minute
    window, and (when given) for the webhook-id we expect."""
    found = {name: headers.get(name, "") for name in SIGNATURE_HEADERS}
    if not all(found.values()) or (expect_id is not None and found["webhook-id"] != expect_id):
        return False
    for secret in secrets:
        try:
            Webhook(secret).verify(body, found, json_parse=False)
            return True
        except (WebhookVerificationError, ValueError, binascii.Error):
            continue
    return False
