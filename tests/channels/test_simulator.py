"""The simulated acquirer: deterministic scenarios, the status API over HTTP, and the
push client checked by a receiver that verifies Standard Webhooks signatures."""

import json
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from channels.poll_signing import verified
from channels.services import generate_secret
from channels.simulator.push import PushClient
from channels.simulator.scenarios import SCENARIOS, Clock, SimMerchant, Swipe, net_of, next_swipe, plan_swipe
from tests.simproc import SIM_SECRET, Simulator, free_port, wait_for

START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)
MERCHANTS = [SimMerchant("M1", "Shop 1", "T1", "1111"), SimMerchant("M2", "Shop 2", "T0", "2222")]


def plan_all(scenario: str, seed: int, n: int = 40, speed: float = 3600, bad: set[str] = frozenset()):
    clock = Clock(START, speed)
    plans = []
    for i in range(n):
        swipe = next_swipe(seed=seed, channel="acq", n=i, merchants=MERCHANTS, at=START + timedelta(seconds=i))
        merchant = next(m for m in MERCHANTS if m.merchant_no == swipe.merchant_no)
        plans.append(plan_swipe(scenario=SCENARIOS[scenario], clock=clock, seed=seed, channel="acq", swipe=swipe,
                                merchant=merchant, bad_account=swipe.merchant_no in bad))
    return plans


def kinds(events) -> list[str]:
    return [e.type for e in sorted(events, key=lambda e: e.occurred_at)]


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_a_seed_replays_the_same_swipes_and_fates(scenario):
    assert plan_all(scenario, seed=5) == plan_all(scenario, seed=5)
    assert plan_all(scenario, seed=5) != plan_all(scenario, seed=6)


def test_normal_moves_every_swipe_to_credited_with_some_events_only_polled():
    plans = plan_all("normal", seed=1)
    assert all(kinds(events) == ["cleared", "settled", "credited"] for events, _ in plans)
    events = [e for evs, _ in plans for e in evs]
    assert any(e.push_at is None for e in events) and any(e.push_at is not None for e in events)
    assert any(e.duplicate for e in events)
    assert any(e.push_at and e.push_at > e.occurred_at for e in events)  # pushed late: out of order
    # A credit names its payout, and one payout covers several swipes (合并到账).
    payouts = Counter(e.payout_reference for e in events if e.type == "credited")
    assert max(payouts.values()) > 1


def test_holiday_backlog_clears_nothing_during_the_pause_then_bursts():
    clock = Clock(START, 3600)
    pause_start, pause_end = clock.window(SCENARIOS["holiday_backlog"].clearing_pause)
    cleared = [e.occurred_at for evs, _ in plan_all("holiday_backlog", seed=1) for e in evs if e.type == "cleared"]
    assert not any(pause_start <= at < pause_end for at in cleared)
    assert sum(at >= pause_end for at in cleared) >= len(cleared) // 2


def test_risk_holds_hold_some_swipes_and_release_them_before_settling():
    plans = plan_all("risk_holds", seed=1)
    held = [kinds(evs) for evs, _ in plans if "held" in kinds(evs)]
    assert 0 < len(held) < len(plans)
    assert all(k == ["cleared", "held", "released", "settled", "credited"] for k in held)


def test_wrong_account_returns_the_credit_and_repays_after_the_fix():
    plans = plan_all("wrong_account", seed=1, bad={"M1"})
    bad = [(evs, payouts) for evs, payouts in plans if evs[0].reference and "returned" in kinds(evs)]
    assert bad and all(kinds(evs) == ["cleared", "settled", "returned", "settled", "credited"] for evs, _ in bad)
    assert all({p.status for p in payouts} == {"sent", "returned"} for _, payouts in bad)
    assert all(evs[-1].payout_reference.endswith("-R") for evs, _ in bad)


def test_slow_bank_credits_hours_later_than_normal():
    def credit_delay(scenario):
        return max(e.occurred_at - e_settled.occurred_at
                   for evs, _ in plan_all(scenario, seed=1)
                   for e, e_settled in [(evs[-1], evs[-2])])
    assert credit_delay("slow_bank") > credit_delay("normal") + timedelta(hours=2) / 3600


def test_net_amounts_and_payout_sums_are_exact_decimals():
    assert net_of(Decimal("1280.00"), 60) == Decimal("1272.32")


# --- a receiver that verifies like our API will ---------------------------------------
class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, secret: str, fail_first: int = 0):
        self.webhook = Webhook(secret)
        self.got: list[dict] = []
        self.fail_first = fail_first
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", free_port()), ReceiverHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def of(self, method: str, suffix: str) -> list[dict]:
        with self.lock:
            return [g for g in self.got if g["method"] == method and g["path"].endswith(suffix)]


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def log_message(self, *args):
        pass

    def _handle(self):
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            body = self.server.webhook.verify(raw, dict(self.headers.items()))
            verified = True
        except WebhookVerificationError:
            body, verified = None, False
        with self.server.lock:
            self.server.got.append({"method": self.command, "path": self.path, "body": body, "verified": verified,
                                    "webhook_id": self.headers["webhook-id"]})
            failing = self.server.fail_first > 0
            self.server.fail_first -= 1
        status = 503 if failing else (200 if verified else 401)
        self.send_response(status)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_POST = do_PUT = _handle


@pytest.fixture
def secret():
    return generate_secret()


def test_push_client_signs_with_standard_webhooks_and_retries_with_the_same_id(secret):
    receiver = Receiver(secret, fail_first=2)
    try:
        client = PushClient(target=receiver.url, channel="acq-9", secret=secret, timeout=2)
        status = client.deliver("POST", "transactions", {"transactions": [{"reference": "R1"}]}, base_delay=0.01)
        assert status == 200
        assert len(receiver.got) == 3
        assert all(g["verified"] for g in receiver.got)
        assert {g["webhook_id"] for g in receiver.got} == {receiver.got[0]["webhook_id"]}
        assert all(g["path"] == "/api/v1/acquirer/acq-9/transactions" for g in receiver.got)
        # Another secret does not verify.
        other = PushClient(target=receiver.url, channel="acq-9", secret=generate_secret(), timeout=2)
        assert other.deliver("POST", "events", {"events": []}, attempts=1) == 401
    finally:
        receiver.shutdown()


@pytest.mark.slow
def test_simulator_process_pushes_merchants_swipes_events_and_payouts_signed(secret):
    receiver = Receiver(secret, fail_first=3)
    sim = Simulator(channel="acq-push", rate=600, speed=36000,
                    extra=["--target", receiver.url, "--secret", secret])
    try:
        wait_for(lambda: receiver.of("POST", "/payouts") and len(receiver.of("POST", "/events")) >= 5,
                 timeout=40, message="pushes of events and payouts")
        assert all(g["verified"] for g in receiver.got)
        merchants = receiver.of("PUT", "")
        assert merchants and all("/api/v1/acquirer/acq-push/merchants/" in g["path"] for g in merchants)
        # The first requests failed: the retries reused their webhook-id.
        ids = Counter(g["webhook_id"] for g in receiver.got)
        assert ids.most_common(1)[0][1] >= 2
        swipes = [t for g in receiver.of("POST", "/transactions") for t in g["body"]["transactions"]]
        assert swipes and all(t["currency"] == "CNY" and "*" in t["masked_pan"] for t in swipes)
        pushed = Counter(e["event_id"] for g in receiver.of("POST", "/events") for e in g["body"]["events"])
        payout = receiver.of("POST", "/payouts")[0]["body"]
        assert set(payout) >= {"payout_reference", "merchant_no", "amount", "transaction_references", "status",
                               "sent_at"}
        # Some events are never pushed: only the status API knows them.
        time.sleep(0.5)
        known = {e["event_id"] for e in sim.get("events")}
        assert known - set(pushed), "every event was pushed; none left for polling"
    finally:
        sim.stop()
        receiver.shutdown()


@pytest.mark.slow
def test_status_api_answers_batches_and_refuses_bad_queries():
    sim = Simulator(channel="acq-status", rate=600, speed=36000)
    try:
        refs = wait_for(lambda: [s["reference"] for s in sim.get("swipes")][:5], message="swipes")
        wait_for(lambda: all(s["status"] == "credited" for s in sim.get("swipes")[:5]), message="credits")
        answered = sim.status({"references": [*refs, "UNKNOWN"]})
        # signed with the channel's secret, for this very query
        assert verified([SIM_SECRET], answered.content, answered.headers,
                        expect_id=answered.request.headers["webhook-id"])
        answer = answered.json()
        by_ref = {r["reference"]: r for r in answer["results"]}
        assert by_ref["UNKNOWN"]["found"] is False
        assert all({e["type"] for e in by_ref[r]["events"]} == {"cleared", "settled", "credited"} for r in refs)
        assert sim.status(data=b"[1]").status_code == 400
        assert sim.status({"references": "x"}).status_code == 400
        too_many = sim.status({"references": ["r"] * 1001})
        assert too_many.status_code == 413 and json.loads(too_many.text)["error"]["code"] == "too_many_references"
        assert sim.status({"references": []}, path=f"{sim.base}/other/status").status_code == 404
        # a query not signed with the poll secret is refused, and nothing is told
        unsigned = requests.post(sim.status_url, json={"references": refs}, timeout=5)
        forged = sim.status({"references": refs}, secret=SIM_SECRET)
        assert unsigned.status_code == forged.status_code == 401 and "results" not in forged.text
    finally:
        sim.stop()


def test_a_swipe_planned_for_the_future_is_not_answered_before_it_happens():
    # Events are emitted in real time: nothing from the future reaches our app.
    clock = Clock(datetime.now(UTC), 1.0)
    swipe = Swipe("R1", "M1", "", Decimal("10.00"), clock.start)
    events, _ = plan_swipe(scenario=SCENARIOS["normal"], clock=clock, seed=1, channel="acq", swipe=swipe,
                           merchant=MERCHANTS[0], bad_account=False)
    assert all(e.occurred_at > clock.start for e in events)


def test_the_signing_secret_comes_from_the_flag_then_the_environment_then_the_demo_file(settings, tmp_path,
                                                                                        monkeypatch):
    from channels.management.commands.simulate_acquirer import channel_secret

    settings.VAR_DIR = tmp_path
    (tmp_path / "demo_channels.json").write_text(json.dumps({"demo-acq": "whsec_fromfile"}))
    monkeypatch.delenv("SIMULATOR_SECRET", raising=False)
    monkeypatch.delenv("SIMULATOR_SECRET_DEMO_ACQ", raising=False)
    assert channel_secret("demo-acq", "", single=True) == "whsec_fromfile"
    monkeypatch.setenv("SIMULATOR_SECRET_DEMO_ACQ", "whsec_fromenv")
    assert channel_secret("demo-acq", "", single=True) == "whsec_fromenv"
    assert channel_secret("demo-acq", "whsec_flag", single=True) == "whsec_flag"
    assert channel_secret("demo-pay", "", single=False) == ""


def test_the_poll_secret_comes_from_the_flag_then_the_environment_then_the_file_load_demo_writes(settings, tmp_path,
                                                                                               monkeypatch):
    from channels.management.commands.simulate_acquirer import channel_secret

    settings.VAR_DIR = tmp_path
    (tmp_path / "demo_poll_secrets.json").write_text(json.dumps({"demo-acq": "whsec_pollfile"}))
    monkeypatch.delenv("SIMULATOR_POLL_SECRET", raising=False)
    monkeypatch.delenv("SIMULATOR_POLL_SECRET_DEMO_ACQ", raising=False)

    def poll_secret(given=""):
        return channel_secret("demo-acq", given, single=True, kind="POLL_SECRET", demo_file="demo_poll_secrets.json")

    assert poll_secret() == "whsec_pollfile"
    monkeypatch.setenv("SIMULATOR_POLL_SECRET_DEMO_ACQ", "whsec_pollenv")
    assert poll_secret() == "whsec_pollenv"
    assert poll_secret("whsec_pollflag") == "whsec_pollflag"
