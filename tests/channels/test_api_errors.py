"""Every error of the acquirer API has the {"error": {"code", "message"}} shape."""

import pytest

from tests.channels.conftest import swipe

pytestmark = pytest.mark.django_db


def envelope(response, http: int, code: str) -> None:
    assert response.status_code == http, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == code and body["error"]["message"]


def test_unknown_endpoint_is_a_json_404(acquirer, client):
    envelope(acquirer.post("refunds", {"x": 1}), 404, "not_found")
    envelope(client.get("/api/v1/acquirer/acq-test/nothing/here"), 404, "not_found")


def test_wrong_method_is_a_json_405_after_verification(acquirer):
    envelope(acquirer.request("DELETE", "transactions"), 405, "method_not_allowed")
    envelope(acquirer.get("events"), 405, "method_not_allowed")


def test_wrong_media_type_is_a_json_415(acquirer):
    envelope(acquirer.post("transactions", raw=b"reference=1", content_type="application/x-www-form-urlencoded"),
             415, "unsupported_media_type")


@pytest.mark.parametrize("raw", [b"{", b"[1,", b'{"transactions": NaN}', b"\"", b"[" * 5000])
def test_malformed_json_is_a_json_400(acquirer, raw):
    envelope(acquirer.post("transactions", raw=raw), 400, "malformed_json")


@pytest.mark.parametrize("payload", [[], {"transactions": {}}, {"events": []}, "x", None, 5])
def test_a_body_of_the_wrong_shape_is_invalid_body(acquirer, payload):
    import json

    envelope(acquirer.post("transactions", raw=json.dumps(payload).encode()), 400, "invalid_body")


def test_an_empty_batch_answers_no_results(acquirer):
    response = acquirer.post("transactions", {"transactions": []})
    assert response.status_code == 200 and response.json() == {"results": []}


def test_get_signed_with_a_body_mismatch_is_refused(acquirer, terminal):
    acquirer.post("transactions", {"transactions": [swipe("R1")]})
    envelope(acquirer.get("transactions/R1", headers={"webhook-signature": "v1,Zm9v"}), 401, "invalid_signature")
