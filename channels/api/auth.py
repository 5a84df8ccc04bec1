"""Standard Webhooks verification over the raw body, before anything is parsed.

The channel comes from the URL path; its active secrets (two while rotating) are tried
in turn with the `standardwebhooks` package. Every refusal is a 401 with a stable code
and a `security` log line that never carries the body. The body size is checked from
Content-Length and again from the bytes actually read, so a liar cannot make us read
more than the limit.
"""

import io
import logging
import re
import time
from dataclasses import dataclass

from django.conf import settings
from rest_framework import status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from channels.models import Channel, ChannelSecret
from config.api_errors import ApiError
from settlement.pan import contains_full_pan

security_log = logging.getLogger("security")

SIGNATURE_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")
_MAX_ID_LENGTH = 200


@dataclass(frozen=True)
class SignedChannel:
    """request.user for a verified acquirer request (not a Django user)."""

    channel: Channel
    webhook_id: str
    is_authenticated: bool = True
    is_staff: bool = False
    is_active: bool = True

    def __str__(self) -> str:
        return f"channel:{self.channel.code}"


def _safe(value: str) -> str:
    """For log lines: short, and never a card number."""
    value = value[:100]
    return "[redacted]" if contains_full_pan(value) else value


def _refuse(request: Request, code: str, message: str, *, channel_code: str, webhook_id: str = "",
            http_status: int = status.HTTP_401_UNAUTHORIZED) -> ApiError:
    security_log.warning(
        "acquirer api refused code=%s channel=%s webhook_id=%s method=%s path_kind=%s ip=%s",
        code, _safe(channel_code), _safe(webhook_id), request.method,
        request.resolver_match.url_name if request.resolver_match else "-",
        request.META.get("REMOTE_ADDR", "-"),
    )
    return ApiError(code, message, http_status)


def max_body_bytes() -> int:
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE


def read_raw_body(request: Request, *, channel_code: str) -> bytes:
    """The request body, at most max_body_bytes(); 413 beyond, without reading it all."""
    django_request = request._request
    limit = max_body_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        raise _refuse(request, "invalid_content_length", "Content-Length is not a number.",
                      channel_code=channel_code, http_status=status.HTTP_400_BAD_REQUEST) from None
    if declared > limit:
        raise _refuse(request, "payload_too_large", f"The body is over {limit} bytes.",
                      channel_code=channel_code, http_status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if hasattr(django_request, "_body"):
        raw = django_request._body
    else:
        raw = django_request.read(limit + 1)
    if len(raw) > limit:
        raise _refuse(request, "payload_too_large", f"The body is over {limit} bytes.",
                      channel_code=channel_code, http_status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    # Hand the bytes back to Django (and so to DRF's parsers) for after verification.
    django_request._body = raw
    django_request._stream = io.BytesIO(raw)
    return raw


def verify_request(request: Request, channel_code: str) -> SignedChannel:
    """Check size, channel, headers, timestamp window and signature, in that order."""
    raw = read_raw_body(request, channel_code=channel_code)
    headers = {name: request.headers.get(name, "") for name in SIGNATURE_HEADERS}
    webhook_id = headers["webhook-id"]
    secrets = (
        list(
            ChannelSecret.objects.filter(channel__code=channel_code, active=True)
            .select_related("channel")
            .order_by("-created_at")
        )
        if "\x00" not in channel_code
        else []
    )
    if not secrets:
        # Same answer for "no such channel" and "no active secret": nothing to probe.
        raise _refuse(request, "unknown_channel", "Unknown channel or no active signing secret.",
                      channel_code=channel_code, webhook_id=webhook_id)
    channel = secrets[0].channel
    if not all(headers.values()):
        raise _refuse(request, "missing_signature_headers",
                      "webhook-id, webhook-timestamp and webhook-signature are required.",
                      channel_code=channel_code, webhook_id=webhook_id)
    if len(webhook_id) > _MAX_ID_LENGTH or not _TIMESTAMP.match(headers["webhook-timestamp"]):
        raise _refuse(request, "invalid_signature_headers", "The signature headers are malformed.",
                      channel_code=channel_code, webhook_id=webhook_id)
    skew = abs(time.time() - int(headers["webhook-timestamp"]))
    if skew > settings.WEBHOOK_TOLERANCE_SECONDS:
        raise _refuse(request, "timestamp_out_of_window",
                      f"webhook-timestamp is more than {settings.WEBHOOK_TOLERANCE_SECONDS} s from now.",
                      channel_code=channel_code, webhook_id=webhook_id)
    for secret in secrets:
        try:
            Webhook(secret.secret).verify(raw, headers, json_parse=False)
        except (WebhookVerificationError, EmptyWebhookSecretError, ValueError):
            # ValueError: undecodable body, garbage in the signature header, a broken secret.
            continue
        return SignedChannel(channel=channel, webhook_id=webhook_id)
    raise _refuse(request, "invalid_signature", "No valid signature for this channel.",
                  channel_code=channel_code, webhook_id=webhook_id)


class StandardWebhookAuthentication(BaseAuthentication):
    """DRF authentication for the acquirer API: the channel in the path signs the body."""

    def authenticate(self, request: Request):
        channel_code = str(request.parser_context["kwargs"].get("channel_code", ""))
        signed = verify_request(request, channel_code)
        return signed, signed.channel

    def authenticate_header(self, request: Request) -> str:
        return 'StandardWebhooks realm="acquirer"'


class IsSignedChannel(BasePermission):
    def has_permission(self, request: Request, view) -> bool:
        return isinstance(request.user, SignedChannel)
