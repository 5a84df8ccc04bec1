"""CPU cost of the push and poll-apply paths (issue 9 follow-up), for comparing two
checkouts on a loaded, shared machine where wall-clock rates swing by 2x between runs:

    python -m bench.cpu_cost [DBNAME]        # default bench_cpu (created and dropped)

In process (Django's test client through the full middleware stack, signed requests):
this process's CPU time plus its PostgreSQL backend's (from /proc), plus the simulated
acquirer's for polls, per event of a 500-event push, per single-event push, and per row
of a poll (cold: 3 new events a row; steady: 1). CPU seconds do not count the time spent
waiting for a core, so other sessions' load moves them far less than req/s. Linux only.
Run it from the checkout to measure (it imports that checkout's code); the simulator
listens on BENCH_CPU_PORT (default 9363). Not a goal benchmark: no baseline ratio.
"""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import psycopg2
import requests

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
TICK = os.sysconf("SC_CLK_TCK")
BATCH, BATCHES, SINGLES, POLL_ROWS = 500, 8, 300, 1500


def proc_cpu(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def admin(sql: str) -> None:
    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    conn.cursor().execute(sql)
    conn.close()


class Meter:
    """CPU seconds of this process, its database backend and any extra processes."""

    def __init__(self, connection):
        self.connection = connection

    def now(self, extra=()) -> float:
        with self.connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]
        return time.process_time() + proc_cpu(backend) + sum(proc_cpu(p) for p in extra)


def pushes(out: dict, meter: Meter) -> None:
    from django.test import Client

    from channels.api.signing import signed_headers
    from channels.services import channel_create
    from merchants.models import Merchant

    channel, secret = channel_create(code="cpupush", name="CPU push")
    Merchant.objects.create(merchant_no="MB0001", name="Bench shop", channel=channel)
    client = Client(HTTP_HOST="127.0.0.1")
    captured = (datetime.now(tz=UTC) - timedelta(days=1)).isoformat()
    at = (datetime.now(tz=UTC) - timedelta(hours=1)).isoformat()

    def post(path: str, payload: dict):
        body = json.dumps(payload).encode()
        headers = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in signed_headers(secret, body).items()
                   if k.lower() != "content-type"}
        response = client.post(f"/api/v1/acquirer/cpupush/{path}", data=body, content_type="application/json",
                               **headers)
        assert response.status_code == 200, response.content[:300]
        return response

    def swipes(refs: list[str]) -> None:
        post("transactions", {"transactions": [{"reference": r, "merchant_no": "MB0001", "amount": "128.00",
                                                "masked_pan": "622202******1234", "captured_at": captured}
                                               for r in refs]})

    def events(refs: list[str], kind: str) -> None:
        response = post("events", {"events": [{"event_id": f"{kind}-{r}", "reference": r, "type": kind,
                                               "occurred_at": at} for r in refs]})
        assert {i["result"] for i in response.json()["results"]} == {"applied"}

    refs = [f"B{i:06d}" for i in range(BATCH * (BATCHES + 1))]
    chunks = [refs[i:i + BATCH] for i in range(0, len(refs), BATCH)]
    for chunk in chunks:
        swipes(chunk)
    events(chunks[0], "cleared")  # warm-up
    events(chunks[0], "settled")
    for kind in ("cleared", "settled"):
        start = meter.now()
        for chunk in chunks[1:]:
            events(chunk, kind)
        out.setdefault("batch push CPU us/event", []).append((meter.now() - start) / (BATCHES * BATCH) * 1e6)
    singles = [f"S{i:06d}" for i in range(2 * SINGLES + 50)]
    for i in range(0, len(singles), BATCH):
        swipes(singles[i:i + BATCH])
    for ref in singles[:50]:  # warm-up
        events([ref], "cleared")
    for part in (singles[50:50 + SINGLES], singles[50 + SINGLES:]):
        start = meter.now()
        for ref in part:
            events([ref], "cleared")
        out.setdefault("single push CPU us/request", []).append((meter.now() - start) / len(part) * 1e6)


def polls(out: dict, meter: Meter) -> None:
    import bench.polling as bp
    from channels.models import Channel, ChannelSecret
    from settlement.services.polling import channel_poll

    port = int(os.environ.get("BENCH_CPU_PORT", "9363"))
    channel_id, refs = bp.setup_rows(POLL_ROWS)[:2]
    channel = Channel.objects.get(pk=channel_id)
    secrets = []
    if hasattr(channel, "poll_secret"):  # signed polls (a checkout before them has none)
        secret = ChannelSecret.objects.filter(channel=channel, active=True).first().secret
        secrets = ["--secret", secret, "--poll-secret", channel.poll_secret]
    bp.ENV["DATABASE_URL"] = os.environ["DATABASE_URL"]
    sim = bp.start([sys.executable, "manage.py", "simulate_acquirer", "--channel", "bench", "--port", str(port),
                    "--speed", "10000000", "--rate", "0", "--state", ":memory:", "--latency-ms", "0",
                    "--merchant", "B000001:T1", *secrets], "sim-cpu")
    try:
        for _ in range(300):
            try:
                requests.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
                break
            except requests.RequestException:
                time.sleep(0.1)
        for i in range(0, len(refs), 1000):
            requests.post(f"http://127.0.0.1:{port}/bench/swipes", timeout=60, json={"swipes": [
                {"reference": r, "merchant_no": "B000001", "amount": "100.00",
                 "captured_at": "2020-01-01T00:00:00+00:00"} for r in refs[i:i + 1000]]})
        for run in range(3):  # the first is a warm-up
            for kind in ("cold", "steady"):
                bp.reset_rows(channel_id, "", steady=False)
                if kind == "steady":
                    bp.prime_steady(channel_id, port)
                bp.reset_rows(channel_id, f"http://127.0.0.1:{port}/bench/status", steady=kind == "steady")
                start = meter.now([sim.pid])
                report = channel_poll(channel_id=channel_id, batch_size=BATCH, max_batches=1000)
                assert report.claimed == POLL_ROWS, report
                if run:
                    out.setdefault(f"poll {kind} CPU us/row (with simulator)", []).append(
                        (meter.now([sim.pid]) - start) / POLL_ROWS * 1e6)
    finally:
        bp.stop(sim)


def main() -> None:
    db = sys.argv[1] if len(sys.argv) > 1 else "bench_cpu"
    if os.getcwd() not in sys.path:  # run as a file from another checkout: measure that checkout
        sys.path.insert(0, os.getcwd())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{db}"
    admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    admin(f"CREATE DATABASE {db}")
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], check=True)
        import django

        django.setup()
        from django.db import connection

        meter, out = Meter(connection), {}
        pushes(out, meter)
        polls(out, meter)
        print(f"command: python -m bench.cpu_cost {db}  (checkout {os.getcwd()})")
        for name, values in out.items():
            print(f"{name:42} " + "  ".join(f"{v:8.0f}" for v in values) + f"   min {min(values):8.0f}")
    finally:
        from django.db import connections

        connections.close_all()
        admin(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")


if __name__ == "__main__":
    main()
