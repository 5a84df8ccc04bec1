"""Standard Webhooks verification: before parsing, 401 with a stable code, nothing stored."""

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from channels.services import channel_rotate_secret
from settlement.models import SettlementEvent, Transaction
from tests.channels.conftest import OTHER_SECRET, SECRET, Acquirer, swipe

pytestmark = pytest.mark.django_db


def body_of(n: int = 1) -> bytes:
    return json.dumps({"transactions": [swipe(f"A{i}") for i in range(n)]}).encode()


def refused(response, code: str, http: int = 401) -> None:
    assert response.status_code == http, response.content
    assert response.json()["error"]["code"] == code
    assert not Transaction.objects.exists()


def test_a_valid_signature_is_accepted(acquirer, terminal):
    response = acquirer.post("transactions", raw=body_of())
    assert response.status_code == 200
    assert response.json()["results"][0]["result"] == "created"


def test_a_tampered_byte_is_refused(acquirer, terminal, client):
    raw = body_of()
    headers = __import__("channels.api.signing", fromlist=["x"]).signed_headers(SECRET, raw)
    headers.pop("content-type")
    tampered = raw.replace(b"1280.00", b"1280.01")
    response = client.post(acquirer.url("transactions"), data=tampered, content_type="application/json",
                           headers=headers)
    refused(response, "invalid_signature")


def test_re_serialised_json_is_refused(acquirer, terminal, client):
    from channels.api.signing import signed_headers

    raw = body_of()
    headers = signed_headers(SECRET, raw)
    headers.pop("content-type")
    pretty = json.dumps(json.loads(raw), indent=2).encode()  # same data, other bytes
    response = client.post(acquirer.url("transactions"), data=pretty, content_type="application/json",
                           headers=headers)
    refused(response, "invalid_signature")


def test_a_wrong_secret_is_refused(acquirer, terminal):
    refused(acquirer.post("transactions", raw=body_of(), secret=OTHER_SECRET), "invalid_signature")


def test_both_secrets_work_during_rotation_and_the_retired_one_stops(acquirer, terminal, channel):
    channel_rotate_secret(channel=channel, secret=OTHER_SECRET)
    assert acquirer.post("transactions", {"transactions": [swipe("OLD")]}).status_code == 200
    assert acquirer.post("transactions", {"transactions": [swipe("NEW")]}, secret=OTHER_SECRET).status_code == 200
    third = "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"
    channel_rotate_secret(channel=channel, secret=third)  # retires SECRET
    response = acquirer.post("transactions", {"transactions": [swipe("RETIRED")]})
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_signature"
    assert acquirer.post("transactions", {"transactions": [swipe("THIRD")]}, secret=third).status_code == 200


def test_several_signatures_in_the_header_one_valid_is_enough(acquirer, terminal):
    from channels.api.signing import signed_headers

    raw = body_of()
    good = signed_headers(SECRET, raw, msg_id="m1")
    bad = signed_headers(OTHER_SECRET, raw, msg_id="m1", timestamp=datetime.fromtimestamp(
        int(good["webhook-timestamp"]), tz=UTC))
    both = f'{bad["webhook-signature"]} {good["webhook-signature"]}'
    response = acquirer.post("transactions", raw=raw, msg_id="m1", headers={
        "webhook-signature": both, "webhook-timestamp": good["webhook-timestamp"]})
    assert response.status_code == 200


@pytest.mark.parametrize("offset, ok", [(-301, False), (301, False), (-250, True), (250, True)])
def test_the_timestamp_window_is_300_seconds(acquirer, terminal, offset, ok, time_machine):
    # The clock stands still: on a slow machine a second between signing and checking
    # would otherwise bring 301 s back inside the window.
    now = datetime.now(tz=UTC)
    time_machine.move_to(now, tick=False)
    at = now + timedelta(seconds=offset)
    response = acquirer.post("transactions", raw=body_of(), timestamp=at)
    if ok:
        assert response.status_code == 200
    else:
        refused(response, "timestamp_out_of_window")


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_headers_are_refused(acquirer, terminal, missing):
    refused(acquirer.post("transactions", raw=body_of(), drop=(missing,)), "missing_signature_headers")


@pytest.mark.parametrize(
    "headers, code",
    [
        ({"webhook-timestamp": "soon"}, "invalid_signature_headers"),
        ({"webhook-timestamp": "1e9"}, "invalid_signature_headers"),
        ({"webhook-signature": "garbage"}, "invalid_signature"),
        ({"webhook-signature": "v1,%%%not-base64%%%"}, "invalid_signature"),
        ({"webhook-signature": "v2,abc v1"}, "invalid_signature"),
        ({"webhook-signature": "v1,"}, "invalid_signature"),
        ({"webhook-id": "x" * 500}, "invalid_signature_headers"),
    ],
)
def test_garbage_headers_are_refused_not_crashed_on(acquirer, terminal, headers, code):
    refused(acquirer.post("transactions", raw=body_of(), headers=headers), code)


def test_an_unknown_channel_is_refused(client, terminal):
    ghost = Acquirer(client, type("C", (), {"code": "ghost"})())
    refused(ghost.post("transactions", raw=body_of()), "unknown_channel")


def test_another_channels_secret_does_not_open_this_channel(client, terminal, channel):
    from tests.factories import ChannelFactory

    other = ChannelFactory(code="acq-other", secret=OTHER_SECRET)
    imposter = Acquirer(client, channel, secret=OTHER_SECRET)
    refused(imposter.post("transactions", raw=body_of()), "invalid_signature")
    assert other.secrets.exists()


def test_a_body_that_is_not_json_is_verified_first_then_refused_as_malformed(acquirer, terminal, client):
    unsigned = client.post(acquirer.url("transactions"), data=b"{not json", content_type="application/json")
    refused(unsigned, "missing_signature_headers")
    signed = acquirer.post("transactions", raw=b"{not json")
    refused(signed, "malformed_json", 400)


def test_refusals_are_security_log_lines_without_the_body(acquirer, terminal, caplog):
    raw = json.dumps({"transactions": [swipe("SECRET-REF", masked_pan="4111111111111111")]}).encode()
    with caplog.at_level(logging.INFO, logger="security"):
        refused(acquirer.post("transactions", raw=raw, secret=OTHER_SECRET), "invalid_signature")
    lines = [r.getMessage() for r in caplog.records if r.name == "security"]
    assert len(lines) == 1 and "invalid_signature" in lines[0] and "acq-test" in lines[0]
    assert "SECRET-REF" not in lines[0] and "4111" not in caplog.text


def test_a_card_number_in_the_path_is_not_logged(client, caplog):
    ghost = Acquirer(client, type("C", (), {"code": "4111111111111111"})())
    with caplog.at_level(logging.INFO, logger="security"):
        response = ghost.post("transactions", raw=body_of())
    assert response.status_code == 401
    assert "4111111111111111" not in "".join(r.getMessage() for r in caplog.records if r.name == "security")


def test_bodies_over_one_mebibyte_are_413_before_verification(acquirer, terminal):
    raw = b'{"transactions": [], "pad": "' + b"x" * (1024 * 1024) + b'"}'
    refused(acquirer.post("transactions", raw=raw), "payload_too_large", 413)


def test_a_lying_content_length_is_caught_by_the_read_size(acquirer, terminal, rf):
    from channels.api.views import TransactionsView

    raw = b"x" * (1024 * 1024 + 10)
    request = rf.post(acquirer.url("transactions"), data=raw, content_type="application/json")
    request.META["CONTENT_LENGTH"] = "10"  # claims 10 bytes; the stream holds more
    reads = []
    original = request.read
    request.read = lambda n=-1: reads.append(n) or original(n)
    response = TransactionsView.as_view()(request, channel_code="acq-test").render()
    assert response.status_code == 413
    assert json.loads(response.content)["error"]["code"] == "payload_too_large"
    assert reads == [1024 * 1024 + 1]  # one bounded read, never "read it all"


def test_batches_over_1000_items_are_413(acquirer, terminal):
    payload = {"transactions": [{"reference": str(i)} for i in range(1001)]}
    refused(acquirer.post("transactions", payload), "batch_too_large", 413)


def test_a_replayed_request_changes_nothing(acquirer, terminal):
    raw = body_of(3)
    first = acquirer.post("transactions", raw=raw, msg_id="msg-1")
    again = acquirer.post("transactions", raw=raw, msg_id="msg-1")
    assert [r["result"] for r in first.json()["results"]] == ["created"] * 3
    # the replay store answers what the first delivery got (channels.replay)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Transaction.objects.count() == 3 and SettlementEvent.objects.count() == 3


def test_no_csrf_and_no_session_needed_but_a_session_alone_is_not_enough(client, acquirer, terminal, staff_user):
    client.force_login(staff_user)
    response = client.post(acquirer.url("transactions"), data=body_of(), content_type="application/json")
    refused(response, "missing_signature_headers")
