"""The OpenAPI schema validates, documents signing, and matches what the views answer."""

import pytest
from django.core.management import call_command

from channels.api import serializers as s
from tests.channels.conftest import event, swipe

pytestmark = pytest.mark.django_db


def test_the_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/acquirer/{channel_code}/transactions" in text
    assert "StandardWebhooks" in text


def test_the_docs_page_is_self_hosted_and_explains_signing(client):
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    page = docs.content.decode()
    assert "cdn" not in page.lower() and "/static/drf_spectacular_sidecar/" in page
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    description = schema.json()["info"]["description"]
    assert "Webhook(SECRET).sign(msg_id, now, body)" in description
    assert "webhook-signature" in description


def test_the_docs_example_signs_requests_we_accept(acquirer, terminal):
    """The copy-paste example, run against our own verification."""
    import json
    from datetime import UTC, datetime

    from standardwebhooks.webhooks import Webhook

    from tests.channels.conftest import SECRET

    body = json.dumps({"transactions": [swipe("DOC1")]}, ensure_ascii=False)
    msg_id, now = "doc-1", datetime.now(tz=UTC)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(SECRET).sign(msg_id, now, body)}
    response = acquirer.client.post(acquirer.url("transactions"), data=body.encode(),
                                    content_type="application/json", headers=headers)
    assert response.status_code == 200 and response.json()["results"][0]["result"] == "created"


def test_batch_answers_have_exactly_the_documented_fields(acquirer, terminal):
    txn = acquirer.post("transactions", {"transactions": [swipe("S1"), swipe("S2", amount="-1")]}).json()
    for result in txn["results"]:
        assert set(result) == set(s.TransactionResultSerializer().fields)
    assert set(txn["results"][0]["transaction"]) == set(s.TransactionOutputSerializer().fields)
    ev = acquirer.post("events", {"events": [event("e1", "S1"), event("e2", "NOPE")]}).json()
    for result in ev["results"]:
        assert set(result) == set(s.EventResultSerializer().fields)
    detail = acquirer.get("transactions/S1").json()
    assert set(detail) == set(s.TransactionDetailOutputSerializer().fields)
    assert set(detail["events"][0]) == set(s.EventOutputSerializer().fields)


def test_item_validation_and_the_documented_item_fields_agree():
    from settlement.items import EVENT_FIELDS as _EVENT_FIELDS

    assert _EVENT_FIELDS == set(s.EventItemSerializer().fields)
    from settlement.services.ingest import SwipeInput

    assert set(SwipeInput.__dataclass_fields__) == set(s.TransactionItemSerializer().fields)
