"""The simulator's settlement files (seeded faults, GB18030, late files) and our daily pull."""

import threading
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests
from django.db.models import Sum
from django.utils import timezone

from channels.poll_signing import file_request_payload, sign, verified_bytes
from channels.services import generate_secret
from channels.simulator import settlement_file
from channels.simulator.engine import SimChannel, Simulator
from channels.simulator.scenarios import SCENARIOS, SimMerchant
from channels.simulator.server import serve
from channels.simulator.store import Store
from settlement.models import ReconciliationBreak, SettlementFile, SettlementFilePull, Transaction
from settlement.services.recon_pull import pulls_run
from settlement.services.reconciliation import settlement_file_receive
from tests.factories import ChannelFactory, MerchantFactory, TerminalFactory, make_transaction
from tests.simproc import free_port

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
N = 10
POLL_SECRET = generate_secret()


@pytest.fixture
def world():
    """Our side and the simulator's side know the same ten swipes of yesterday."""
    channel = ChannelFactory(code="sim-recon", poll_secret=POLL_SECRET)
    merchant = MerchantFactory(channel=channel, merchant_no="SM1", fee_rate_bps=60)
    terminal = TerminalFactory(merchant=merchant, serial_number="SN-SM1")
    yesterday = timezone.now().astimezone(SH).date() - timedelta(days=1)
    noon = datetime.combine(yesterday, time(12), tzinfo=SH)
    txns = [make_transaction(merchant=merchant, terminal=terminal, amount=f"{37 + 11 * i}.{i}0",
                             reference=f"SIM{i:03d}", captured_at=noon + timedelta(minutes=7 * i)) for i in range(N)]
    sim = Simulator(
        channels=[SimChannel(code=channel.code, secret=channel.secrets.get().secret, poll_secret=POLL_SECRET,
                             merchants=[SimMerchant("SM1", "模拟商户", "T1", "1234", 60,
                                                                        "SN-SM1")])],
        scenario=SCENARIOS["normal"], seed=7, speed=3600, rate=0, store=Store(":memory:"),
    )
    sim.inject(channel.code, [{"reference": t.reference, "merchant_no": "SM1", "terminal_sn": "SN-SM1",
                               "amount": str(t.amount), "captured_at": t.captured_at.isoformat()} for t in txns])
    return channel, txns, sim, yesterday


def kinds(run) -> dict[str, int]:
    return {k: v["count"] for k, v in run.totals.items() if v["count"]}


def test_each_result_kind_from_a_simulator_file_with_seeded_faults(world):
    channel, txns, sim, day = world
    data, faults = settlement_file.build(sim.store, channel=channel.code, day=day, seed=7, gb18030=False)
    run = settlement_file_receive(channel=channel, raw=data, business_date=day, source="pull").run
    assert kinds(run) == {"matched": N - 3, "amount_mismatch": 1, "fee_mismatch": 1, "missing_in_file": 1,
                          "unknown_to_us": 1, "duplicate_in_file": 1}
    by_kind = {r.kind: r.reference for r in run.results.exclude(kind="matched")}
    assert by_kind == {"amount_mismatch": faults.amount_off, "fee_mismatch": faults.fee_off,
                       "missing_in_file": faults.missing, "unknown_to_us": faults.unknown,
                       "duplicate_in_file": faults.duplicated}
    amount_off = run.results.get(kind="amount_mismatch")
    assert amount_off.file_amount - amount_off.our_amount == Decimal("0.01")
    fee_off = run.results.get(kind="fee_mismatch")
    assert fee_off.file_fee - fee_off.our_fee == Decimal("0.05")
    # Totals tie out: every line's money is the file total, every swipe's money is ours.
    ours = {t.reference: t.amount for t in txns}
    expected_file = sum(ours.values()) - ours[faults.missing] + Decimal("0.01") + Decimal("88.88") \
        + ours[faults.duplicated]
    assert run.file_total == expected_file == run.results.aggregate(t=Sum("file_amount"))["t"]
    assert run.our_total == Transaction.objects.filter(channel=channel, business_date=day).aggregate(
        t=Sum("amount"))["t"]
    assert set(ReconciliationBreak.objects.values_list("kind", flat=True)) == set(by_kind)


def test_the_gb18030_file_gives_the_same_run_as_the_utf8_one(world):
    channel, _, sim, day = world
    utf8, _ = settlement_file.build(sim.store, channel=channel.code, day=day, seed=7, gb18030=False)
    gb, _ = settlement_file.build(sim.store, channel=channel.code, day=day, seed=7, gb18030=True)
    assert gb.decode("gb18030").startswith("交易参考号")
    first = settlement_file_receive(channel=channel, raw=utf8, business_date=day, source="pull")
    second = settlement_file_receive(channel=channel, raw=gb, business_date=day, source="pull")
    assert second.file.supersedes == first.file and second.file.encoding in ("gbk", "gb18030")
    assert (second.run.totals, second.run.file_total) == (first.run.totals, first.run.file_total)
    # Same breaks: seen again, so persisting, none new and none resolved.
    assert set(ReconciliationBreak.objects.values_list("status", flat=True)) == {"persisting"}


def test_a_file_without_faults_matches_everything(world):
    channel, _, sim, day = world
    data, _ = settlement_file.build(sim.store, channel=channel.code, day=day, seed=7, faults=False)
    run = settlement_file_receive(channel=channel, raw=data, business_date=day, source="pull").run
    assert kinds(run) == {"matched": N} and run.file_total == run.our_total


@pytest.fixture
def served(world):
    channel, txns, sim, day = world
    port = free_port()
    server = serve(sim, "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    channel.poll_url = f"http://127.0.0.1:{port}/{channel.code}/status"
    channel.save(update_fields=["poll_url"])
    yield channel, sim, day, port
    server.shutdown()
    server.server_close()


def test_the_simulator_serves_its_file_and_says_not_ready_before(served):
    channel, sim, day, port = served
    path = f"/{channel.code}/settlement-files/{day}"
    url = f"http://127.0.0.1:{port}{path}"

    def signed(p: str = path, secret: str = POLL_SECRET) -> dict:
        return sign(secret, file_request_payload(p), msg_id="sfile_t1")

    unsigned = requests.get(url, timeout=5)
    assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "invalid_signature"
    assert requests.get(url, headers=signed(secret=generate_secret()), timeout=5).status_code == 401
    # signed for another date: not this request
    assert requests.get(url, headers=signed(path.replace(str(day), "2020-01-01")), timeout=5).status_code == 401
    response = requests.get(url, headers=signed(), timeout=5)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert verified_bytes([channel.secrets.get().secret], response.content, response.headers, expect_id="sfile_t1")
    bad_day = path.replace(str(day), "2026-02-30")
    assert requests.get(url.replace(str(day), "2026-02-30"), headers=signed(bad_day), timeout=5).status_code == 400
    sim.file_late_hours = {channel.code: 10_000}
    late = requests.get(url, headers=signed(), timeout=5)
    assert late.status_code == 404 and late.json()["error"]["code"] == "not_ready"


def test_the_daily_pull_retries_a_late_file_opens_a_break_and_the_file_resolves_it(served, settings):
    channel, sim, day, _ = served
    settings.RECON_PULL_AFTER_HOUR, settings.RECON_PULL_MISSING_AFTER_HOURS = 6, 2
    settings.RECON_PULL_RETRY_MINUTES, settings.RECON_PULL_LAG_DAYS = 15, 1
    due = datetime.combine(day + timedelta(days=1), time(6), tzinfo=SH)
    sim.file_late_hours = {channel.code: 10_000}  # late

    assert pulls_run(now=due - timedelta(minutes=1)).scheduled == 0  # not before the hour
    report = pulls_run(now=due + timedelta(minutes=30))
    assert (report.scheduled, report.waiting, report.missing_breaks) == (1, 1, 0)
    pull = SettlementFilePull.objects.get()
    assert (pull.attempts, pull.last_error) == (1, "http_404")
    assert pulls_run(now=due + timedelta(minutes=40)).waiting == 0  # leased until the retry time

    report = pulls_run(now=due + timedelta(hours=2, minutes=5))
    assert (report.waiting, report.missing_breaks) == (1, 1)
    missing = ReconciliationBreak.objects.get(kind="file_missing")
    assert missing.business_date == day and missing.is_open

    sim.file_late_hours = {}  # it arrives
    report = pulls_run(now=due + timedelta(hours=3))
    assert report.fetched == 1
    pull.refresh_from_db()
    assert pull.done_at and pull.file.source == "pull" and pull.attempts == 3
    missing.refresh_from_db()
    assert (missing.status, missing.resolution) == ("resolved", "auto")
    assert pull.file.run.totals["unknown_to_us"]["count"] == 1
    assert pulls_run(now=due + timedelta(hours=4)).fetched == 0  # done: never fetched again


def test_an_intraday_pull_follows_today_s_file_then_takes_the_final_one(served, settings):
    channel, sim, day, _ = served
    settings.RECON_PULL_AFTER_HOUR, settings.RECON_PULL_LAG_DAYS, settings.RECON_PULL_RETRY_MINUTES = 0, 0, 5
    noon = datetime.combine(day, time(12), tzinfo=SH)
    assert pulls_run(now=noon).fetched == 1
    pull = SettlementFilePull.objects.get()
    assert pull.done_at is None and pull.file is not None  # followed until the day is over
    assert pulls_run(now=noon + timedelta(minutes=6)).fetched == 1  # the same bytes: a duplicate, no new run
    assert pulls_run(now=datetime.combine(day + timedelta(days=1), time(0, 30), tzinfo=SH)).fetched == 1
    pull.refresh_from_db()
    assert pull.done_at is not None and pull.attempts == 3
    assert SettlementFile.objects.count() == 1


def test_a_gb18030_file_is_signed_over_its_raw_bytes(served, monkeypatch):
    channel, sim, day, port = served
    path = f"/{channel.code}/settlement-files/{day}"
    data, faults = settlement_file.build(sim.store, channel=channel.code, day=day, seed=sim.seed, gb18030=True)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # the standardwebhooks package could not sign or verify it
    monkeypatch.setattr(sim, "settlement_file", lambda code, d, now: (data, faults))
    response = requests.get(f"http://127.0.0.1:{port}{path}", headers=sign(POLL_SECRET, file_request_payload(path),
                                                                          msg_id="sfile_gb"), timeout=5)
    assert response.status_code == 200 and response.content == data
    secret = channel.secrets.get().secret
    assert verified_bytes([secret], response.content, response.headers, expect_id="sfile_gb")
    assert not verified_bytes([secret], response.content + b" ", response.headers, expect_id="sfile_gb")
    assert not verified_bytes([secret], response.content, response.headers, expect_id="sfile_other")


@pytest.mark.parametrize("forge", ["unsigned", "wrong_secret", "tampered"])
def test_an_unsigned_or_forged_file_is_a_failed_pull_never_data(served, settings, monkeypatch, forge):
    channel, sim, day, _ = served
    settings.RECON_PULL_AFTER_HOUR, settings.RECON_PULL_LAG_DAYS = 6, 1
    from channels.simulator import server as sim_server

    real = sim_server.sign_bytes

    def forged(secret, data, *, msg_id):
        if forge == "unsigned":
            return {}
        if forge == "wrong_secret":
            return real(generate_secret(), data, msg_id=msg_id)
        return real(secret, data + b"\nEXTRA,1.00", msg_id=msg_id)

    monkeypatch.setattr(sim_server, "sign_bytes", forged)
    report = pulls_run(now=datetime.combine(day + timedelta(days=1), time(7), tzinfo=SH))
    assert (report.fetched, report.waiting) == (0, 1)
    assert SettlementFilePull.objects.get().last_error == "bad_signature"
    assert not SettlementFile.objects.exists()


def test_a_pull_without_a_poll_secret_fetches_nothing(served, settings):
    channel, sim, day, _ = served
    settings.RECON_PULL_AFTER_HOUR, settings.RECON_PULL_LAG_DAYS = 6, 1
    type(channel).objects.filter(pk=channel.pk).update(poll_secret="")
    report = pulls_run(now=datetime.combine(day + timedelta(days=1), time(7), tzinfo=SH))
    assert report.waiting == 1 and SettlementFilePull.objects.get().last_error == "no_poll_secret"
    assert not SettlementFile.objects.exists()


@pytest.mark.parametrize("last_pulled_days_ago, expected", [(5, 4), (30, 6), (None, 1)])
def test_after_downtime_the_pull_catches_up_the_missed_dates_bounded(served, settings, last_pulled_days_ago,
                                                                     expected):
    channel, sim, day, _ = served
    settings.RECON_PULL_AFTER_HOUR, settings.RECON_PULL_LAG_DAYS, settings.RECON_PULL_CATCHUP_DAYS = 6, 1, 7
    now = datetime.combine(day + timedelta(days=1), time(7), tzinfo=SH)
    if last_pulled_days_ago is not None:  # the last pull before the downtime
        SettlementFilePull.objects.create(channel=channel, business_date=day - timedelta(days=last_pulled_days_ago),
                                          next_attempt_at=now, missing_after=now, done_at=now)
    # a file that came another way during the downtime is not pulled again
    settlement_file_receive(channel=channel, raw=b"reference,amount\n", business_date=day - timedelta(days=2),
                            source="upload")
    report = pulls_run(now=now)
    assert (report.scheduled, report.fetched) == (expected, expected)
    pulled = set(SettlementFilePull.objects.filter(file__source="pull").values_list("business_date", flat=True))
    assert day in pulled and day - timedelta(days=2) not in pulled
    assert min(pulled) >= day - timedelta(days=6)  # at most RECON_PULL_CATCHUP_DAYS dates, today's lag included
    assert pulls_run(now=now + timedelta(minutes=1)).scheduled == 0  # nothing more to catch up
