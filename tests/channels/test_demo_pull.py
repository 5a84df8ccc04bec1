"""A fresh `make run`: the daily pull, with the settings Procfile.dev gives the worker and
the simulator as Procfile.dev starts it, brings each demo channel's file on its first
try, and the staff breaks page shows the seeded faults (and no missing-file break)."""

import json
import re
import threading
from datetime import date, time, timedelta
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.utils import timezone

from channels.management.commands.simulate_acquirer import demo_merchants
from channels.simulator import settlement_file
from channels.simulator.engine import SimChannel, Simulator
from channels.simulator.scenarios import SCENARIOS
from channels.simulator.server import serve
from channels.simulator.store import Store
from merchants.models import Merchant
from settlement.models import ReconciliationBreak, ReconciliationRun
from settlement.pan import contains_full_pan
from settlement.services.recon_pull import pulls_run
from tests.factories import make_transaction
from tests.simproc import free_port

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
PROCFILE = Path(django_settings.BASE_DIR) / "Procfile.dev"


def procfile(process: str) -> str:
    return next(line.split(":", 1)[1] for line in PROCFILE.read_text().splitlines()
                if line.startswith(f"{process}:"))


def test_a_fresh_demo_s_first_pull_brings_a_run_per_channel_with_the_seeded_faults(tmp_path, settings, monkeypatch,
                                                                                  client):
    import settlement.services.demo as demo

    # The worker's pull settings, as Procfile.dev gives them (their defaults there).
    worker = dict(re.findall(r"(RECON_PULL_\w+)=\$\{\w+:-(\d+)\}", procfile("worker")))
    assert {"RECON_PULL_LAG_DAYS", "RECON_PULL_AFTER_HOUR"} <= set(worker)
    for name, value in worker.items():
        setattr(settings, name, int(value))
    beat = dict(re.findall(r"(RECON_PULL_BEAT_SECONDS)=\$\{\w+:-(\d+)\}", procfile("beat")))
    assert int(beat["RECON_PULL_BEAT_SECONDS"]) <= 120  # the first pull within a couple of minutes
    simulator = procfile("simulator")
    assert "--file-intraday" in simulator and "--no-file-faults" not in simulator
    codes = re.findall(r"--channel (\S+)", simulator)
    seed = int(re.search(r"--seed \$\{SIM_SEED:-(\d+)\}", simulator).group(1))

    monkeypatch.setattr(demo, "SECRETS_FILE", tmp_path / "demo_channels.json")
    monkeypatch.setattr(demo, "POLL_SECRETS_FILE", tmp_path / "demo_poll_secrets.json")
    port = free_port()
    call_command("load_demo", "--swipes", "3", "--poll-base-url", f"http://127.0.0.1:{port}", stdout=StringIO())
    secrets = json.loads((tmp_path / "demo_channels.json").read_text())
    poll_secrets = json.loads((tmp_path / "demo_poll_secrets.json").read_text())
    sim = Simulator(
        channels=[SimChannel(code=code, secret=secrets[code], poll_secret=poll_secrets[code],
                             merchants=demo_merchants(code)) for code in codes],
        scenario=SCENARIOS["normal"], seed=seed, speed=1200, rate=0, store=Store(":memory:"),
        adopt_unknown=True, file_intraday=True,
    )
    # Today's first swipes, pushed to us and known to the simulator (it pushed them).
    now = timezone.now()
    local = now.astimezone(SH)
    start = local - timedelta(minutes=30) if local.time() < time(22, 30) else local.replace(hour=12, minute=0)
    for code in codes:
        items = []
        for i, sm in enumerate(demo_merchants(code) * 4):
            txn = make_transaction(merchant=Merchant.objects.get(merchant_no=sm.merchant_no),
                                   amount=f"{20 + 7 * i}.{i % 10}0", reference=f"D{code[-3:]}{i:03d}",
                                   captured_at=start + timedelta(seconds=37 * i))
            items.append({"reference": txn.reference, "merchant_no": sm.merchant_no, "terminal_sn": sm.terminal_sn,
                          "amount": str(txn.amount), "captured_at": txn.captured_at.isoformat()})
        sim.inject(code, items)
    server = serve(sim, "127.0.0.1", port)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        report = pulls_run(now=now)
    finally:
        server.shutdown()
        server.server_close()

    assert (report.fetched, report.waiting, report.missing_breaks) == (len(codes), 0, 0)
    day = local.date()
    for code in codes:
        run = ReconciliationRun.objects.get(channel__code=code, business_date=day)
        _, faults = sim.settlement_file(code, day, now)
        shown = dict(ReconciliationBreak.objects.filter(channel__code=code, business_date=day)
                     .exclude(kind="missing_in_file").values_list("kind", "reference"))
        assert shown == {"amount_mismatch": faults.amount_off, "fee_mismatch": faults.fee_off,
                         "unknown_to_us": faults.unknown, "duplicate_in_file": faults.duplicated}
        assert ReconciliationBreak.objects.filter(kind="missing_in_file", reference=faults.missing).exists()
        assert run.totals["matched"]["count"] > 0
    assert not ReconciliationBreak.objects.filter(kind="file_missing").exists()

    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username=demo.DEMO_STAFF_USER[0]))
    page = client.get("/staff/reconciliation/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    text = page.content.decode()
    for needle in ("Amount mismatch", "Fee mismatch", "Unknown to us", "Duplicate in file", "Missing in file"):
        assert needle in text


def test_the_simulator_s_unknown_line_never_looks_like_a_card_number():
    # Run together, the date and the number were 14 digits passing Luhn one time in ten.
    from channels.simulator.scenarios import rng_for

    for seed in range(300):
        rng = rng_for(seed, "demo-pay", "faults", "2026-12-03")
        assert not contains_full_pan(settlement_file.unknown_reference(rng, date(2026, 12, 3))), seed
