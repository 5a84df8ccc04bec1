"""Signed status polls: our query is signed with the channel's poll secret, the answer
must be signed with its signing secret for that very query; anything else is a failed
poll, never data. https:// except on loopback."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from django.core.exceptions import ValidationError
from django.utils import timezone

from channels.models import Channel
from channels.poll_signing import PollSigning, sign, verified
from channels.polling import PollFailed, status_query
from channels.services import generate_secret
from settlement.services.polling import channel_poll
from tests.factories import MerchantFactory, make_transaction

POLL_SECRET, SECRET, OTHER = generate_secret(), generate_secret(), generate_secret()
SIGNING = PollSigning(request_secret=POLL_SECRET, answer_secrets=(SECRET,))
URL = "https://acquirer.example.com/status"


class FakeStatusApi:
    """A requests.Session stand-in: records the query, answers as told."""

    def __init__(self, answer=None, *, secret=SECRET, msg_id=None, at=None, signed=True):
        self.answer, self.secret, self.msg_id, self.at, self.signed = answer, secret, msg_id, at, signed
        self.calls: list[dict] = []

    def post(self, url, *, data, headers, timeout, allow_redirects):
        self.calls.append({"url": url, "data": data, "headers": headers, "allow_redirects": allow_redirects})
        refs = json.loads(data)["references"]
        body = json.dumps(self.answer if self.answer is not None else {
            "results": [{"reference": r, "found": True, "events": []} for r in refs]}).encode()
        response = requests.Response()
        response.status_code, response._content = 200, body
        if self.signed:
            from channels.api.signing import signed_headers

            response.headers.update(signed_headers(self.secret, body, msg_id=self.msg_id or headers["webhook-id"],
                                                   timestamp=self.at))
        return response


def test_the_query_is_signed_with_the_poll_secret_and_a_signed_answer_is_data():
    api = FakeStatusApi()
    answers = status_query(url=URL, references=["R1"], signing=SIGNING, session=api)
    assert answers["R1"].found
    [call] = api.calls
    assert verified([POLL_SECRET], call["data"], call["headers"])
    assert not verified([SECRET], call["data"], call["headers"])
    assert call["allow_redirects"] is False  # signed headers never follow a redirect elsewhere


@pytest.mark.parametrize("api", [
    FakeStatusApi(signed=False),
    FakeStatusApi(secret=OTHER),  # anyone without the channel's secret
    FakeStatusApi(msg_id="poll_an-earlier-query"),  # a recorded answer to another query
    FakeStatusApi(at=datetime.now(UTC) - timedelta(minutes=6)),  # outside the window
], ids=["unsigned", "wrong-secret", "other-query", "stale"])
def test_an_answer_without_a_valid_signature_for_this_query_is_a_failed_poll(api):
    with pytest.raises(PollFailed) as failed:
        status_query(url=URL, references=["R1"], signing=SIGNING, session=api, attempts=1)
    assert failed.value.code == "bad_signature"


@pytest.mark.parametrize(("url", "allowed"), [
    ("https://acquirer.example.com/status", True),
    ("http://127.0.0.1:9100/acq/status", True),
    ("http://localhost:9100/acq/status", True),
    ("http://acquirer.example.com/status", False),
    ("http://10.0.0.5/status", False),
    ("ftp://acquirer.example.com/status", False),
])
def test_plain_http_only_to_loopback(url, allowed):
    api = FakeStatusApi()
    if allowed:
        assert status_query(url=url, references=["R1"], signing=SIGNING, session=api)
        return
    with pytest.raises(PollFailed) as failed:
        status_query(url=url, references=["R1"], signing=SIGNING, session=api)
    assert failed.value.code == "insecure_poll_url" and api.calls == []


def test_without_a_poll_secret_nothing_is_asked():
    api = FakeStatusApi()
    with pytest.raises(PollFailed) as failed:
        status_query(url=URL, references=["R1"], signing=PollSigning("", (SECRET,)), session=api)
    assert failed.value.code == "no_poll_secret" and api.calls == []


@pytest.mark.django_db
def test_the_channel_refuses_an_insecure_poll_url():
    channel = MerchantFactory().channel
    channel.poll_url = "http://acquirer.example.com/status"
    with pytest.raises(ValidationError) as err:
        channel.full_clean()
    assert "poll_url" in err.value.message_dict
    channel.poll_url = "https://acquirer.example.com/status"
    channel.full_clean()


@pytest.mark.django_db
def test_a_forged_credited_answer_closes_nothing_and_counts_as_a_failed_poll(monkeypatch):
    merchant = MerchantFactory()
    Channel.objects.filter(pk=merchant.channel_id).update(poll_url=URL, poll_secret=POLL_SECRET)
    txn = make_transaction(merchant=merchant)
    forged = {"results": [{"reference": txn.reference, "found": True, "events": [
        {"event_id": "F1", "type": "credited", "occurred_at": timezone.now().isoformat()}]}]}
    monkeypatch.setattr("channels.polling._session", FakeStatusApi(forged, secret=OTHER))
    report = channel_poll(channel_id=merchant.channel_id)
    assert report.failed and report.error == "bad_signature" and report.applied == 0
    txn.refresh_from_db()
    assert txn.status == "captured" and not txn.events.filter(event_id="F1").exists()
    channel = Channel.objects.get(pk=merchant.channel_id)
    assert channel.consecutive_poll_failures == 1 and "bad_signature" in channel.last_poll_error
    # the same answer signed by the channel's own secret is data
    channel_secret = channel.secrets.get(active=True).secret
    monkeypatch.setattr("channels.polling._session", FakeStatusApi(forged, secret=channel_secret))
    Channel.objects.filter(pk=channel.pk).update(last_poll_at=None)
    txn.__class__.objects.filter(pk=txn.pk).update(next_poll_at=timezone.now())
    assert channel_poll(channel_id=merchant.channel_id).applied == 1


def test_sign_and_verify_round_trip():
    body = b'{"references": []}'
    headers = sign(POLL_SECRET, body, msg_id="poll_1")
    assert verified([OTHER, POLL_SECRET], body, headers, expect_id="poll_1")
    assert not verified([POLL_SECRET], body + b" ", headers)


@pytest.mark.parametrize(("reason", "suspect"), [
    ("账户信息有误", False),  # clean, even escaped Chinese
    ("card 4111 1111 1111 1111", True),
    ("６２２５８８０１２３４５６７８３", True),  # full-width digits, \uff16... once JSON-escaped
    ("a\u0000b", True),  # a NUL: the items are judged one by one and it is refused there
])
def test_the_raw_answer_is_looked_at_once_for_card_numbers_and_nul(reason, suspect):
    answer = {"results": [{"reference": "R1", "found": True, "events": [
        {"event_id": "e1", "type": "cleared", "occurred_at": "2026-11-22T10:00:00+08:00", "reason": reason}]}]}
    answers = status_query(url=URL, references=["R1"], signing=SIGNING, session=FakeStatusApi(answer))
    assert answers.pan_suspect is suspect
