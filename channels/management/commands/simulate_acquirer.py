import json
import logging
import os
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from channels.simulator.engine import SimChannel, Simulator
from channels.simulator.push import PushClient
from channels.simulator.scenarios import SCENARIOS, SimMerchant
from channels.simulator.server import serve
from channels.simulator.store import Store


def demo_merchants(code: str) -> list[SimMerchant]:
    """The demo channels play the merchants `load_demo` created, with the same details."""
    from settlement.services.demo import DEMO_CHANNELS, DEMO_MERCHANTS

    codes = [c for c, _ in DEMO_CHANNELS]
    return [
        SimMerchant(no, name, str(cycle), last4, 60, f"SN{no[1:]}01")
        for no, name, ch, cycle, last4 in DEMO_MERCHANTS
        if codes[ch] == code
    ]


def channel_merchants(code: str, given: list[str]) -> list[SimMerchant]:
    if given:
        out = []
        for spec in given:
            no, _, cycle = spec.partition(":")
            out.append(SimMerchant(no, f"商户 {no}", cycle or "T1", "1234", 60, f"SN{no}"))
        return out
    return demo_merchants(code) or [
        SimMerchant(f"{code.upper()}-M{i:02d}", f"模拟商户 Sim shop {i}", cycle, f"{1000 + i}", 60,
                    f"SN-{code}-{i:02d}")
        for i, cycle in enumerate(["T1", "D1", "T0", "D0"], start=1)
    ]


def _late_hours(specs: list[str]) -> dict[str, float]:
    out = {}
    for spec in specs:
        code, _, hours = spec.partition("=")
        try:
            out[code] = float(hours)
        except ValueError as exc:
            raise CommandError("--file-late is CODE=HOURS") from exc
    return out


def channel_secret(code: str, given: str, single: bool, *, kind: str = "SECRET",
                   demo_file: str = "demo_channels.json") -> str:
    """--secret, then SIMULATOR_SECRET_<CODE> / SIMULATOR_SECRET, then var/demo_channels.json
    (the poll secret: --poll-secret, SIMULATOR_POLL_SECRET..., var/demo_poll_secrets.json)."""
    if given and single:
        return given
    env_name = f"SIMULATOR_{kind}_" + code.upper().replace("-", "_")
    if os.environ.get(env_name):
        return os.environ[env_name]
    if single and os.environ.get(f"SIMULATOR_{kind}"):
        return os.environ[f"SIMULATOR_{kind}"]
    path = settings.VAR_DIR / demo_file
    if path.exists():
        return json.loads(path.read_text()).get(code, "")
    return ""


class Command(BaseCommand):
    help = ("Run a simulated acquirer + clearing house: generates swipes for its merchants, pushes them and some "
            "events to --target (signed), and serves a status API that our workers poll.")

    def add_arguments(self, parser):
        parser.add_argument("--channel", action="append", required=True, help="channel code (repeatable)")
        parser.add_argument("--port", type=int, default=9100)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--scenario", default="normal", choices=sorted(SCENARIOS))
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--target", default="", help="our app's base URL, e.g. http://127.0.0.1:8000 "
                            "(no pushes without it)")
        parser.add_argument("--secret", default="", help="signing secret (whsec_...) when one channel is given: "
                            "signs pushes and status answers")
        parser.add_argument("--poll-secret", default="", help="the channel's poll secret (whsec_...) when one "
                            "channel is given: status queries not signed with it are refused")
        parser.add_argument("--rate", type=float, default=6.0, help="new swipes per minute per channel")
        parser.add_argument("--speed", type=float, default=1800.0, help="simulated seconds per real second")
        parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every status answer")
        parser.add_argument("--state", default="", help="SQLite file for the simulator's state, or :memory:")
        parser.add_argument("--outage", default="", help="override the outage window: START:END real seconds")
        parser.add_argument("--hang-seconds", type=float, default=20.0)
        parser.add_argument("--adopt-unknown", action="store_true",
                            help="answer for references we never generated (make run: the demo's older swipes)")
        parser.add_argument("--merchant", action="append", default=[], help="NO:CYCLE (repeatable)")
        parser.add_argument("--no-file-faults", action="store_true",
                            help="settlement files without the seeded faults (missing, unknown, 0.01 off, ...)")
        parser.add_argument("--file-intraday", action="store_true",
                            help="also serve today's settlement file so far (the demo's pull of today)")
        parser.add_argument("--file-late", action="append", default=[],
                            help="CODE=HOURS: that channel's settlement file is ready HOURS after midnight")

    def handle(self, *args, **o):
        logging.basicConfig(level=logging.INFO)
        codes: list[str] = o["channel"]
        if o["speed"] <= 0:
            raise CommandError("--speed must be positive")
        outage = None
        if o["outage"]:
            try:
                start, end = (float(x) for x in o["outage"].split(":"))
            except ValueError as exc:
                raise CommandError("--outage is START:END in seconds") from exc
            outage = (start, end)
        state = o["state"] or str(settings.VAR_DIR / "sim" / f"{'+'.join(codes)}-{o['scenario']}-{o['seed']}.sqlite3")
        channels = []
        for code in codes:
            client = None
            single = len(codes) == 1
            secret = channel_secret(code, o["secret"], single=single)
            poll_secret = channel_secret(code, o["poll_secret"], single=single, kind="POLL_SECRET",
                                         demo_file="demo_poll_secrets.json")
            if o["target"]:
                if secret:
                    client = PushClient(target=o["target"], channel=code, secret=secret)
                else:
                    self.stderr.write(f"{code}: no signing secret found; serving the status API only")
            if not (secret and poll_secret):
                self.stderr.write(f"{code}: without its signing and poll secrets every status query is refused")
            channels.append(SimChannel(code=code, merchants=channel_merchants(code, o["merchant"]), client=client,
                                       secret=secret, poll_secret=poll_secret))
        sim = Simulator(
            channels=channels, scenario=SCENARIOS[o["scenario"]], seed=o["seed"], speed=o["speed"],
            rate=o["rate"], store=Store(state), latency=o["latency_ms"] / 1000, outage_override=outage,
            hang_seconds=o["hang_seconds"], adopt_unknown=o["adopt_unknown"],
            file_faults=not o["no_file_faults"], file_late_hours=_late_hours(o["file_late"]),
            file_intraday=o["file_intraday"],
        )
        server = serve(sim, o["host"], o["port"])
        engine = threading.Thread(target=sim.run, name="simulator-engine", daemon=True)
        engine.start()

        def stop(*_):
            sim.stop_event.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(
            f"simulated acquirer {','.join(codes)} ({o['scenario']}, seed {o['seed']}, x{o['speed']:g}) on "
            f"http://{o['host']}:{o['port']}/<channel>/status" + (f", pushing to {o['target']}" if o["target"] else "")
        )
        self.stdout.flush()
        server.serve_forever(poll_interval=0.2)
        server.server_close()
        engine.join(timeout=2)
