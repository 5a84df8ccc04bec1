import base64
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from channels.api.signing import signed_headers
from tests.factories import ChannelFactory, MerchantFactory, TerminalFactory

SECRET = "whsec_" + base64.b64encode(b"acquirer-test-secret-0001").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"acquirer-test-secret-0002").decode()


class Acquirer:
    """A test acquirer: signs every request like a real one would."""

    def __init__(self, client, channel, secret: str = SECRET):
        self.client = client
        self.channel = channel
        self.secret = secret

    def url(self, path: str) -> str:
        return f"/api/v1/acquirer/{self.channel.code}/{path}"

    def request(self, method: str, path: str, payload=None, *, raw: bytes | None = None, secret: str | None = None,
                msg_id: str | None = None, timestamp=None, headers: dict | None = None,
                content_type: str = "application/json", drop: tuple[str, ...] = ()):
        body = raw if raw is not None else (json.dumps(payload, ensure_ascii=False).encode() if payload is not None
                                            else b"")
        signed = signed_headers(secret or self.secret, body, msg_id=msg_id, timestamp=timestamp,
                                content_type=content_type)
        signed.pop("content-type")
        signed.update(headers or {})
        for name in drop:
            signed.pop(name, None)
        return self.client.generic(method, self.url(path), data=body, content_type=content_type, headers=signed)

    def post(self, path: str, payload=None, **kwargs):
        return self.request("POST", path, payload, **kwargs)

    def put(self, path: str, payload=None, **kwargs):
        return self.request("PUT", path, payload, **kwargs)

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)


@pytest.fixture
def channel(db):
    return ChannelFactory(code="acq-test", secret=SECRET)


@pytest.fixture
def shop(channel):
    return MerchantFactory(channel=channel, merchant_no="M900001")


@pytest.fixture
def terminal(shop):
    return TerminalFactory(merchant=shop, serial_number="SN900001")


@pytest.fixture
def acquirer(client, channel):
    return Acquirer(client, channel)


def swipe(reference: str = "R1", **overrides) -> dict:
    item = {
        "reference": reference,
        "merchant_no": "M900001",
        "terminal_sn": "SN900001",
        "amount": "1280.00",
        "currency": "CNY",
        "masked_pan": "622202******1234",
        "method": "chip",
        "captured_at": (timezone.now() - timedelta(hours=1)).isoformat(),
    }
    item.update(overrides)
    return {k: v for k, v in item.items() if v is not None}


def event(event_id: str, reference: str = "R1", kind: str = "cleared", occurred_at=None, **extra) -> dict:
    at = occurred_at or timezone.now() - timedelta(minutes=30)
    return {"event_id": event_id, "reference": reference, "type": kind,
            "occurred_at": at if isinstance(at, str) else at.isoformat(), **extra}
