"""Every operation of /api/schema/ does what the schema says (schemathesis, in process):
no 5xx, only documented status codes and content types, bodies matching their schemas.
Acquirer operations are signed like a real acquirer signs them; merchant operations run
logged in as a shop owner with data to read. At least 50 examples per operation."""

import json

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from channels.api.signing import signed_headers
from tests.channels.conftest import SECRET
from tests.factories import ChannelFactory, MembershipFactory, MerchantFactory, TerminalFactory, UserFactory
from tests.merchants.conftest import build_shop

pytestmark = [pytest.mark.slow]

schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def world(db):
    """A signing channel (its code in every acquirer path) and a logged-in shop owner."""
    channel = ChannelFactory(code="acq-st", secret=SECRET)
    merchant = MerchantFactory(channel=channel, merchant_no="M900001")
    TerminalFactory(merchant=merchant, serial_number="SN900001")
    user = UserFactory(username="shopkeeper")
    MembershipFactory(user=user, merchant=merchant)
    build_shop(merchant, tag="S")
    client = Client()
    client.force_login(user)
    client.get("/accounts/login/")  # sets the CSRF cookie
    # As Django's test client does around its requests (and it reconnects them after
    # each): the in-process WSGI app must not close the test transaction's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield {"channel": channel, "cookies": {k: v.value for k, v in client.cookies.items()}}
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _body_bytes(case) -> bytes:
    if case.body is None or type(case.body).__name__ == "NotSet":
        return b""
    if isinstance(case.body, (bytes, str)):
        return case.body.encode() if isinstance(case.body, str) else case.body
    return json.dumps(case.body, ensure_ascii=False).encode()


@schema.parametrize()
@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_every_operation_is_what_the_schema_says(case, world):
    if case.path.startswith("/api/v1/acquirer/"):
        case.path_parameters = {**(case.path_parameters or {}), "channel_code": world["channel"].code}
        body = _body_bytes(case)
        try:
            headers = signed_headers(SECRET, body, content_type=case.media_type or "application/json")
        except UnicodeDecodeError:  # Standard Webhooks signs text: such a body can only be refused (401)
            headers = {**signed_headers(SECRET, b""), "content-type": case.media_type or "application/json"}
        if not body:
            headers.pop("content-type")
        response = case.call(headers=headers, data=body)
    else:
        headers = {"X-CSRFToken": world["cookies"]["csrftoken"]}
        response = case.call(headers=headers, cookies=world["cookies"])
    case.validate_response(response, checks=CHECKS)
