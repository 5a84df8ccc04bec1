"""The replay store: an accepted webhook-id replayed inside the signature window answers
its stored result and is never applied again; receipts are purged after the window."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from channels.models import WebhookReceipt
from channels.replay import replay_keep, replays_purge
from merchants.models import Merchant
from settlement.models import Payout
from tests.channels.conftest import swipe
from tests.channels.test_api_payouts import MERCHANT, payout

pytestmark = pytest.mark.django_db


def test_a_replayed_put_merchants_answers_the_stored_result_and_keeps_the_newer_values(acquirer):
    first_at = datetime.now(UTC) - timedelta(seconds=200)
    first = acquirer.put("merchants/M777", MERCHANT, msg_id="msg-a", timestamp=first_at)
    assert first.status_code == 201
    newer = acquirer.put("merchants/M777", {**MERCHANT, "name": "老王超市"}, msg_id="msg-b")
    assert newer.status_code == 200
    # when: someone replays the first signed request, still inside the 300 s window
    replay = acquirer.put("merchants/M777", MERCHANT, msg_id="msg-a", timestamp=first_at)
    # then: the stored answer, and nothing re-applied
    assert (replay.status_code, replay.json()) == (201, first.json())
    assert replay["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Merchant.objects.get(merchant_no="M777").name == "老王超市"


def test_a_replayed_post_payouts_does_not_move_the_payout_back(acquirer, terminal):
    at = (timezone.now() - timedelta(days=1)).isoformat()
    acquirer.post("transactions", {"transactions": [
        swipe("P1", amount="100.00", captured_at=at), swipe("P2", amount="200.00", captured_at=at)]})
    sent_at = datetime.now(UTC) - timedelta(seconds=120)
    sent = acquirer.post("payouts", payout(), msg_id="po-sent", timestamp=sent_at)
    credited = acquirer.post("payouts", payout(status="credited", credited_at="2026-11-21T15:00:00+08:00"))
    assert (sent.status_code, credited.status_code) == (201, 200)
    replay = acquirer.post("payouts", payout(), msg_id="po-sent", timestamp=sent_at)
    assert (replay.status_code, replay.json()["status"]) == (201, "sent")  # what it answered then
    assert Payout.objects.get().status == "credited"


def test_the_same_id_with_another_request_is_refused(acquirer):
    acquirer.put("merchants/M777", MERCHANT, msg_id="msg-a")
    other = acquirer.put("merchants/M777", {**MERCHANT, "name": "改名"}, msg_id="msg-a")
    assert other.status_code == 409 and other.json()["error"]["code"] == "webhook_id_reused"
    assert Merchant.objects.get(merchant_no="M777").name == MERCHANT["name"]


def test_a_refused_request_is_not_kept_so_its_fixed_retry_is_processed(acquirer):
    from tests.factories import MerchantFactory

    MerchantFactory(merchant_no="M-THEIRS")
    refused = acquirer.put("merchants/M-THEIRS", MERCHANT, msg_id="msg-x")
    assert refused.status_code == 409
    assert not WebhookReceipt.objects.filter(webhook_id="msg-x").exists()
    assert acquirer.put("merchants/M-THEIRS", MERCHANT, msg_id="msg-x").json()["error"]["code"] == \
        "merchant_other_channel"  # processed again, not answered from a store


def test_reads_are_not_stored(acquirer):
    acquirer.get("transactions/NOPE", msg_id="read-1")
    assert not WebhookReceipt.objects.exists()


def test_receipts_are_kept_through_the_window_and_purged_after(acquirer, settings):
    # a signature is valid 300 s either side of our clock: one delivery replays for up to 600 s
    assert replay_keep() >= timedelta(seconds=2 * settings.WEBHOOK_TOLERANCE_SECONDS)
    acquirer.put("merchants/M1", MERCHANT, msg_id="old")
    start = timezone.now()
    with time_machine.travel(start + replay_keep() - timedelta(seconds=5), tick=False):
        assert replays_purge(now=timezone.now()) == (0, False)
    with time_machine.travel(start + replay_keep() + timedelta(seconds=5), tick=False):
        acquirer.put("merchants/M2", MERCHANT, msg_id="new")
        assert replays_purge(now=timezone.now()) == (1, False)
    assert list(WebhookReceipt.objects.values_list("webhook_id", flat=True)) == ["new"]


def test_the_purge_runs_on_the_beat_in_bounded_batches(acquirer, settings):
    from channels.tasks import purge_webhook_receipts

    assert settings.CELERY_BEAT_SCHEDULE["channels-purge-webhook-receipts"]["task"] == \
        "channels.tasks.purge_webhook_receipts"
    for i in range(3):
        acquirer.put(f"merchants/M{i}", MERCHANT, msg_id=f"m{i}")
    WebhookReceipt.objects.update(received_at=timezone.now() - replay_keep() - timedelta(seconds=1))
    assert replays_purge(now=timezone.now(), batch=2) == (2, True)
    assert purge_webhook_receipts() == 1


def test_the_answer_is_stored_compressed_and_whole(acquirer, terminal):
    body = {"transactions": [swipe(f"Z{i}") for i in range(50)]}
    first = acquirer.post("transactions", body, msg_id="batch-1")
    again = acquirer.post("transactions", raw=json.dumps(body, ensure_ascii=False).encode(), msg_id="batch-1",
                          timestamp=None)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    receipt = WebhookReceipt.objects.get(webhook_id="batch-1")
    assert len(bytes(receipt.answer)) < len(first.content)
