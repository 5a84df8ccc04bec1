"""Start the simulated acquirer (and Celery workers) as real processes for tests.
Only processes started here are stopped, by their recorded pid."""

import base64
import os
import signal
import socket
import subprocess
import sys
import time
from itertools import count
from pathlib import Path

import requests

from tests.proctree import worker_ports

ROOT = Path(__file__).resolve().parent.parent
_ports = count()
# The simulated channel's secrets: it signs answers (and pushes) with SIM_SECRET and
# accepts status queries signed with SIM_POLL_SECRET. `Simulator.attach` gives a
# channel of ours the same pair.
SIM_SECRET = "whsec_" + base64.b64encode(b"simulated-acquirer-signing-01").decode()
SIM_POLL_SECRET = "whsec_" + base64.b64encode(b"simulated-acquirer-polling-01").decode()


def free_port() -> int:
    """A port in our 9100-9299 range, from this xdist worker's slice, in turn (a port
    just closed is not the next one tried)."""
    ports = worker_ports(range(9100, 9300))
    while True:
        port = ports[next(_ports) % len(ports)]
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


class Proc:
    def __init__(self, args: list[str], env: dict | None = None, log_name: str = "proc"):
        self.log = open(ROOT / "var" / f"test-{log_name}-{os.getpid()}.log", "w")  # noqa: SIM115
        self.popen = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=self.log,
                                      stderr=subprocess.STDOUT)
        self.pid = self.popen.pid

    def kill9(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self.log.close()

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text()


class Simulator(Proc):
    def __init__(self, *, channel: str, scenario: str = "normal", seed: int = 1, speed: float = 36000,
                 rate: float = 0, extra: list[str] | None = None):
        (ROOT / "var").mkdir(exist_ok=True)
        self.port = free_port()
        self.channel = channel
        self.base = f"http://127.0.0.1:{self.port}"
        super().__init__(
            [sys.executable, "manage.py", "simulate_acquirer", "--channel", channel, "--port", str(self.port),
             "--scenario", scenario, "--seed", str(seed), "--speed", str(speed), "--rate", str(rate),
             "--state", ":memory:", "--secret", SIM_SECRET, "--poll-secret", SIM_POLL_SECRET, *(extra or [])],
            log_name=f"sim-{channel}",
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if requests.get(self.base + "/healthz", timeout=0.5).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("simulator did not start: " + self.output())

    @property
    def status_url(self) -> str:
        return f"{self.base}/{self.channel}/status"

    def attach(self, channel_id: int, **fields) -> None:
        """Point one of our channels at this simulator, with its secrets."""
        from channels.models import Channel, ChannelSecret

        Channel.objects.filter(pk=channel_id).update(poll_url=self.status_url, poll_secret=SIM_POLL_SECRET, **fields)
        ChannelSecret.objects.get_or_create(channel_id=channel_id, secret=SIM_SECRET)

    def status(self, payload=None, *, data: bytes | None = None, secret: str = SIM_POLL_SECRET,
               path: str | None = None) -> requests.Response:
        """A status query signed like ours (with `secret`)."""
        import json
        import uuid

        from channels.poll_signing import sign

        body = data if data is not None else json.dumps(payload).encode()
        headers = sign(secret, body, msg_id=f"poll_{uuid.uuid4().hex}")
        return requests.post(path or self.status_url, data=body, headers=headers, timeout=10)

    def signing(self):
        from channels.poll_signing import PollSigning

        return PollSigning(request_secret=SIM_POLL_SECRET, answer_secrets=(SIM_SECRET,))

    def inject(self, txns, **extra) -> None:
        swipes = [{"reference": t.reference, "merchant_no": t.merchant.merchant_no, "amount": str(t.amount),
                   "captured_at": t.captured_at.isoformat()} for t in txns]
        response = requests.post(f"{self.base}/{self.channel}/swipes", json={"swipes": swipes, **extra}, timeout=10)
        assert response.status_code == 200, response.text

    def get(self, what: str) -> list[dict]:
        return requests.get(f"{self.base}/{self.channel}/{what}", timeout=10).json()[what]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")
