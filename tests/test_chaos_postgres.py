"""PostgreSQL restarted under push load (issue 14 item 5, RELIABILITY.md): a
PostgreSQL of the test's own (never the shared server), migrated, gunicorn against it,
three acquirer threads pushing signed event batches with retries while the test
restarts PostgreSQL (`pg_ctl restart -m fast`) twice. Then: no 2xx without a commit
(every event of a batch answered 200 is stored), every client's retries succeed, every
event is stored exactly once. Only processes this test started are stopped, by pid."""

import json
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from channels.api.signing import signed_headers
from tests.channels.conftest import SECRET
from tests.chaos_pg import OwnPostgres
from tests.proctree import free_port_in
from tests.simproc import ROOT, Proc, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("chaos")]

PG_PORTS = range(55400, 55440)
WEB_PORTS = range(9700, 9740)
THREADS = 3
SWIPES_PER_THREAD = 150
BATCH = 50
RESTARTS = 2
MAX_RESTARTS = 4  # more only while no request has yet met the restart

SETUP = """
import django; django.setup()
from channels.models import Channel
from tests.factories import ChannelFactory, MerchantFactory
channel = ChannelFactory(code="pgchaos", secret={secret!r})
MerchantFactory(channel=channel, merchant_no="M970001")
"""


@pytest.fixture
def own_postgres():
    server = OwnPostgres(free_port_in(PG_PORTS))
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _migrated(server: OwnPostgres) -> str:
    url = server.create_database("chaos")
    env = {"DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, check=True, timeout=180,
                   env={**_base_env(), **env})
    subprocess.run([sys.executable, "-c", SETUP.format(secret=SECRET)], cwd=ROOT, check=True, timeout=60,
                   env={**_base_env(), **env})
    return url


def _base_env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}


def _post(url: str, payload: dict, msg_id: str) -> tuple[int | str, dict | None]:
    body = json.dumps(payload).encode()
    try:
        response = requests.post(url, data=body, headers=signed_headers(SECRET, body, msg_id=msg_id), timeout=30)
    except requests.RequestException as exc:
        return type(exc).__name__, None
    return response.status_code, response.json() if response.status_code == 200 else None


def test_postgres_restarted_under_push_load_loses_no_acknowledged_event_and_stores_none_twice(own_postgres):
    started = time.monotonic()
    url = _migrated(own_postgres)
    web = Proc([str(ROOT / ".venv" / "bin" / "gunicorn"), "config.wsgi", "--workers", "2", "--threads", "2",
                "--bind", f"127.0.0.1:{(port := free_port_in(WEB_PORTS))}", "--timeout", "30"],
               env={"DATABASE_URL": url, "DJANGO_DEBUG": "false"}, log_name="gunicorn-pg-chaos")
    try:
        base = f"http://127.0.0.1:{port}/api/v1/acquirer/pgchaos"

        def up():
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(up, timeout=30, interval=0.2, message="gunicorn on the own PostgreSQL: " + web.output()[-2000:])
        captured = timezone.now() - timedelta(days=3)
        refs = [f"PG{t}-{i:04d}" for t in range(THREADS) for i in range(SWIPES_PER_THREAD)]
        swipes = [{"reference": ref, "merchant_no": "M970001", "amount": "66.00", "currency": "CNY",
                   "masked_pan": "622202******1234", "method": "chip", "captured_at": captured.isoformat()}
                  for ref in refs]
        code, answer = _post(base + "/transactions", {"transactions": swipes}, "pg-swipes")
        assert code == 200 and Counter(r["result"] for r in answer["results"]) == {"created": len(refs)}

        log: list[dict] = []
        problems: list[str] = []
        answered: dict[str, str] = {}  # event id -> result, from 200 answers
        lock = threading.Lock()
        done = threading.Event()

        def pusher(number: int) -> None:
            mine = [r for r in refs if r.startswith(f"PG{number}-")]
            events = [{"event_id": f"pg-{ref}-{kind}", "reference": ref, "type": kind,
                       "occurred_at": (captured + timedelta(hours=hours)).isoformat()}
                      for kind, hours in (("cleared", 1), ("settled", 20), ("credited", 26)) for ref in mine]
            for start in range(0, len(events), BATCH):
                batch = events[start:start + BATCH]
                msg_id = f"pg-events-{number}-{start}"
                for attempt in range(1, 200):
                    code, answer = _post(base + "/events", {"events": batch}, msg_id)
                    with lock:
                        log.append({"thread": number, "batch": start, "attempt": attempt, "code": code})
                    if code == 200:
                        with lock:
                            for r in answer["results"]:
                                answered[r["event_id"]] = r["result"]
                        break
                    if isinstance(code, int) and code < 500:
                        problems.append(f"thread {number} batch {start}: {code}")
                        break
                    time.sleep(0.2)  # no answer or 5xx: retry the same request (same webhook-id)
                else:
                    problems.append(f"thread {number} batch {start} never got a 200")
                time.sleep(0.02)

        threads = [threading.Thread(target=pusher, args=(n,), daemon=True) for n in range(THREADS)]
        for thread in threads:
            thread.start()

        def answered_batches() -> int:
            with lock:
                return sum(1 for e in log if e["code"] == 200)

        restarts = 0
        while thread_alive(threads) and restarts < MAX_RESTARTS and (restarts < RESTARTS or not failed(log, lock)):
            target = answered_batches() + 2
            wait_for(lambda t=target: answered_batches() >= t or not thread_alive(threads), timeout=30,
                     interval=0.02, message="pushes answered between restarts")
            if not thread_alive(threads):
                break
            own_postgres.restart()
            restarts += 1
        for thread in threads:
            thread.join(timeout=60)
        done.set()
        assert not thread_alive(threads), "a pusher did not finish"

        # then
        assert not problems, problems
        assert restarts >= RESTARTS, f"only {restarts} restarts happened during the pushes"
        assert failed(log, lock), "no request met a restart: the test proved nothing"
        assert all(e["code"] == 200 or not isinstance(e["code"], int) or e["code"] >= 500 for e in log), log
        assert set(answered.values()) <= {"applied", "duplicate"}, Counter(answered.values())
        pushed = {f"pg-{ref}-{kind}" for ref in refs for kind in ("cleared", "settled", "credited")}
        assert set(answered) == pushed  # every client's retries ended in a 200
        conn = own_postgres.connect("chaos")
        with conn.cursor() as cursor:
            cursor.execute("SELECT e.event_id, count(*) FROM settlement_settlementevent e "
                           "JOIN channels_channel c ON c.id = e.channel_id "
                           "WHERE c.code = 'pgchaos' AND e.type <> 'captured' GROUP BY e.event_id")
            stored = dict(cursor.fetchall())
            cursor.execute("SELECT DISTINCT t.status FROM settlement_transaction t "
                           "JOIN channels_channel c ON c.id = t.channel_id WHERE c.code = 'pgchaos'")
            statuses = {row[0] for row in cursor.fetchall()}
        conn.close()
        assert set(stored) == pushed  # no 2xx without a commit: every answered event is there
        assert set(stored.values()) == {1}  # and none twice
        assert statuses == {"credited"}
        retried = Counter(e["code"] for e in log if e["code"] != 200)
        print(f"{restarts} restarts, {len(log)} attempts, failed attempts {dict(retried)}, "
              f"{time.monotonic() - started:.1f} s")
    finally:
        web.stop()


def thread_alive(threads) -> bool:
    return any(t.is_alive() for t in threads)


def failed(log, lock) -> bool:
    with lock:
        return any(e["code"] != 200 for e in log)
