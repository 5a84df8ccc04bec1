"""The duplicate storm: one signed event pushed 1,000 times from 24 threads against a
live server (Django's threaded WSGI server on a port of 9300-9399, real commits)."""

import json
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from django.test.testcases import LiveServerThread, _StaticFilesHandler
from django.utils import timezone

from channels.api.signing import signed_headers
from settlement.models import SettlementEvent, Transaction
from tests.channels.conftest import SECRET, Acquirer, event, swipe

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("live-server")]

PUSHES = 1000
THREADS = 24


@pytest.fixture
def server(transactional_db):
    """A live server on the first free port of 9300-9399 (this worktree's range)."""
    for port in range(9300, 9400):
        thread = LiveServerThread("127.0.0.1", _StaticFilesHandler, port=port)
        thread.daemon = True
        thread.start()
        thread.is_ready.wait()
        if thread.error is None:
            break
        thread.join()
    else:
        pytest.fail("no free port in 9300-9399")
    yield f"http://127.0.0.1:{port}"
    thread.terminate()


def test_the_same_event_a_thousand_times_is_applied_once(server, client):
    from tests.factories import ChannelFactory, MerchantFactory

    channel = ChannelFactory(code="storm", secret=SECRET)
    merchant = MerchantFactory(channel=channel, merchant_no="M900001")
    acquirer = Acquirer(client, channel)
    created = acquirer.post("transactions", {"transactions": [
        swipe("S1", merchant_no=merchant.merchant_no, terminal_sn=None,
              captured_at=(timezone.now() - timedelta(days=1)).isoformat())]})
    assert created.json()["results"][0]["result"] == "created"

    # One signed request, delivered 1,000 times (a retrying acquirer reuses the webhook-id).
    body = json.dumps({"events": [event("storm-1", "S1", "cleared")]}).encode()
    headers = signed_headers(SECRET, body, msg_id="storm-msg-1")
    url = f"{server}/api/v1/acquirer/storm/events"
    local = threading.local()

    def push(_: int) -> tuple[int, str]:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        response = session.post(url, data=body, headers=headers, timeout=60)
        result = response.json()["results"][0]["result"] if response.status_code == 200 else "-"
        return response.status_code, result

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = list(pool.map(push, range(PUSHES)))

    statuses = Counter(code for code, _ in answers)
    outcomes = Counter(result for _, result in answers)
    assert statuses == {200: PUSHES}, statuses
    # one delivery applied; the copies waited on its receipt and got its stored answer
    assert outcomes == {"applied": PUSHES}, outcomes
    assert SettlementEvent.objects.filter(channel=channel, event_id="storm-1").count() == 1
    assert Transaction.objects.get(channel=channel, reference="S1").status == "cleared"


def test_overlapping_swipe_batches_in_any_order_create_each_swipe_once(server, client):
    """8 threads push the same 50 swipes, each in its own order: no deadlock, no 5xx,
    every reference created exactly once and answered `duplicate` everywhere else."""
    import random

    from tests.factories import ChannelFactory, MerchantFactory

    channel = ChannelFactory(code="storm2", secret=SECRET)
    MerchantFactory(channel=channel, merchant_no="M900001")
    captured = (timezone.now() - timedelta(hours=3)).isoformat()
    items = [swipe(f"O{i}", terminal_sn=None, captured_at=captured) for i in range(50)]
    url = f"{server}/api/v1/acquirer/storm2/transactions"

    def push(seed: int) -> list[tuple[str, str]]:
        order = random.Random(seed).sample(items, len(items))
        body = json.dumps({"transactions": order}).encode()
        response = requests.post(url, data=body, headers=signed_headers(SECRET, body), timeout=60)
        assert response.status_code == 200, response.text
        return [(r["reference"], r["result"]) for r in response.json()["results"]]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [pair for batch in pool.map(push, range(16)) for pair in batch]

    created = Counter(ref for ref, result in answers if result == "created")
    assert created == {f"O{i}": 1 for i in range(50)}
    assert Counter(result for _, result in answers) == {"created": 50, "duplicate": 50 * 15}
    assert Transaction.objects.filter(channel=channel).count() == 50
    assert SettlementEvent.objects.filter(channel=channel).count() == 50
