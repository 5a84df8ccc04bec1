"""kill -9 of a web worker mid-batch (RELIABILITY.md, "Tests that prove it"): gunicorn
(one worker, one thread, as a real process on a port of 9650-9699) takes large signed
event batches from a pushing thread while the test kills its worker process with -9 in
the middle of requests; the arbiter starts a new one. A batch answered 200 has every
event it answered stored (no 2xx without a commit); a batch that got no answer is
retried with the same webhook-id and bytes, as an acquirer does, and ends with each
event stored exactly once. Only the processes started here are killed, by their pid."""

import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.db import connection, connections
from django.utils import timezone

from channels.api.signing import signed_headers
from settlement.models import SettlementEvent, Transaction
from tests.channels.conftest import SECRET
from tests.factories import ChannelFactory, MerchantFactory
from tests.proctree import alive, children, free_port_in
from tests.simproc import Proc, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("web-kill")]

SWIPES = 1000
BATCH = 400  # new events per request, plus OVERLAP events of the previous request again
OVERLAP = 40
KILLS = 3
MAX_KILLS = 6  # extra kills, only while none has yet cost a batch its answer
WEB_PORTS = range(9650, 9700)


class Gunicorn(Proc):
    """The arbiter we start; its worker is the child we kill."""

    def __init__(self, port: int, database_url: str):
        self.base = f"http://127.0.0.1:{port}"
        self.forked: set[int] = set()
        gunicorn = str(Path(sys.executable).parent / "gunicorn")
        super().__init__([gunicorn, "config.wsgi", "--workers", "1", "--threads", "1", "--bind",
                          f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "5"],
                         env={"DATABASE_URL": database_url, "DJANGO_DEBUG": "false"}, log_name="gunicorn-web-kill")

    def worker_pid(self, *, not_pid: int | None = None, timeout: float = 20.0) -> int:
        def one():
            if self.popen.poll() is not None:
                raise RuntimeError("gunicorn exited: " + self.output()[-3000:])
            pids = [p for p in children(self.pid) if p != not_pid and alive(p)]
            return pids[0] if len(pids) == 1 else None

        pid = wait_for(one, timeout=timeout, interval=0.05, message="gunicorn's worker process")
        self.forked.add(pid)
        return pid

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.forked.update(children(self.pid))
        super().stop()
        for pid in self.forked:  # a worker the arbiter could not stop in time
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def web(transactional_db):
    db = connection.settings_dict  # the live test database (pytest-django's test_... name)
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    server = Gunicorn(free_port_in(WEB_PORTS),
                      f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}")
    try:
        server.worker_pid()

        def answers():
            try:
                return requests.get(server.base + "/api/v1/acquirer/none/transactions/x", timeout=2).status_code
            except (requests.ConnectionError, requests.Timeout):  # still loading the app (a loaded machine)
                return None

        wait_for(answers, timeout=20, interval=0.1, message="gunicorn to answer: " + server.output()[-2000:])
        yield server
    finally:
        server.stop()


def signed_post(url: str, payload: dict, msg_id: str) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    return body, signed_headers(SECRET, body, msg_id=msg_id)


def test_kill_9_of_a_web_worker_mid_batch_loses_no_acknowledged_event_and_stores_none_twice(web):
    # given: a channel, a merchant and 1,000 swipes created through the API (one request)
    channel = ChannelFactory(code="webkill", secret=SECRET)
    MerchantFactory(channel=channel, merchant_no="M960001")
    captured = timezone.now() - timedelta(days=3)
    refs = [f"WK{i:05d}" for i in range(SWIPES)]
    swipes = [{"reference": ref, "merchant_no": "M960001", "amount": "88.00", "currency": "CNY",
               "masked_pan": "622202******1234", "method": "chip", "captured_at": captured.isoformat()}
              for ref in refs]
    base = f"{web.base}/api/v1/acquirer/webkill"
    body, headers = signed_post(base + "/transactions", {"transactions": swipes}, "swipes-1")
    created = requests.post(base + "/transactions", data=body, headers=headers, timeout=60)
    assert created.status_code == 200, created.text
    assert Counter(r["result"] for r in created.json()["results"]) == {"created": SWIPES}

    # ... each swipe's lifecycle as events, in large batches; each batch repeats the
    # last events of the one before (acquirers redeliver inside later requests)
    events = [{"event_id": f"wk-{ref}-{kind}", "reference": ref, "type": kind,
               "occurred_at": (captured + timedelta(hours=hours)).isoformat()}
              for kind, hours in (("cleared", 1), ("settled", 20), ("credited", 26)) for ref in refs]
    batches = [events[max(0, i - OVERLAP):i + BATCH] for i in range(0, len(events), BATCH)]

    log: list[dict] = []  # one entry per attempt
    problems: list[str] = []
    in_flight = {"batch": None, "attempt": 0, "since": 0.0}
    lock = threading.Lock()

    def pusher():
        try:
            for number, batch in enumerate(batches):
                body, headers = signed_post(base + "/events", {"events": batch}, f"events-{number}")
                ids = [e["event_id"] for e in batch]
                for attempt in range(1, 60):
                    with lock:
                        in_flight.update(batch=number, attempt=attempt, since=time.monotonic())
                    try:
                        response = requests.post(base + "/events", data=body, headers=headers, timeout=60)
                        code = response.status_code
                    except requests.RequestException as exc:
                        response, code = None, type(exc).__name__
                    finally:
                        with lock:
                            in_flight["batch"] = None
                    entry = {"batch": number, "attempt": attempt, "code": code,
                             "duration": time.monotonic() - in_flight["since"]}
                    log.append(entry)
                    if code == 200:
                        results = response.json()["results"]
                        entry["results"] = Counter(r["result"] for r in results)
                        if [r["event_id"] for r in results] != ids:
                            problems.append(f"batch {number}: answers do not match the items")
                        # no 2xx without a commit: every answered event is stored right now
                        stored = set(SettlementEvent.objects.filter(channel=channel, event_id__in=ids)
                                     .values_list("event_id", flat=True))
                        if stored != set(ids):
                            problems.append(f"batch {number} answered 200 but {len(set(ids) - stored)} "
                                            "of its events are not stored")
                        break
                    if isinstance(code, int) and code < 500:
                        problems.append(f"batch {number} attempt {attempt}: {code} {response.text[:300]}")
                        break
                    time.sleep(0.2)  # no answer or 5xx: retry the same request (same webhook-id)
                else:
                    problems.append(f"batch {number} never got a 200")
        except Exception as exc:  # surfaced by the assertions below
            problems.append(f"pusher crashed: {exc!r}")
        finally:
            connections.close_all()

    thread = threading.Thread(target=pusher, name="pusher", daemon=True)
    # when: the worker is killed with -9 while a request is in its hands, three times
    worker = web.worker_pid()
    thread.start()
    wait_for(lambda: sum(1 for e in log if e["code"] == 200) >= 2 or not thread.is_alive(), timeout=60,
             message="the first batches to be answered")
    durations = sorted(e["duration"] for e in log if e["code"] == 200) or [0.3]
    typical = durations[len(durations) // 2]
    kills = []
    rng = random.Random(7)
    def lost_an_answer() -> bool:
        return bool(set(kills) & {e["batch"] for e in log if e["code"] != 200})

    # A kill can land just after the answer left the worker (a batch takes ~50 ms), so
    # kill early in the request, and kill again (up to MAX_KILLS) until one has cost a
    # batch its answer: otherwise this test would pass or fail by timing alone.
    while (len(kills) < KILLS or not lost_an_answer()) and len(kills) < MAX_KILLS and thread.is_alive():
        busy = wait_for(lambda: (thread.is_alive() and in_flight["batch"] is not None
                                 and in_flight["attempt"] == 1 and dict(in_flight)) or not thread.is_alive(),
                        timeout=60, interval=0.005, message="a request in flight")
        if busy is True:
            break
        time.sleep(rng.uniform(0.05, 0.4) * typical)
        with lock:
            same = in_flight["batch"] == busy["batch"] and in_flight["since"] == busy["since"]
        if not same:
            continue  # answered meanwhile: wait for the next request
        os.kill(worker, signal.SIGKILL)
        kills.append(busy["batch"])
        worker = web.worker_pid(not_pid=worker)  # the arbiter's new worker
    thread.join(timeout=120)
    assert not thread.is_alive(), "the pusher did not finish"

    # then
    assert not problems, problems
    assert len(kills) >= KILLS, f"only {len(kills)} kills landed during a request"
    unanswered = {e["batch"] for e in log if e["code"] != 200}
    # A kill can land just after the answer left the worker; most cost their batch the answer.
    assert set(kills) & unanswered, (kills, log)
    assert all(e["code"] == 200 or not isinstance(e["code"], int) or e["code"] >= 500 for e in log)
    for entry in log:
        if entry["code"] == 200:
            assert set(entry["results"]) <= {"applied", "stale", "duplicate"}, entry

    pushed = {e["event_id"] for e in events}
    stored = Counter(SettlementEvent.objects.filter(channel=channel).exclude(type="captured")
                     .values_list("event_id", flat=True))
    assert set(stored) == pushed
    assert set(stored.values()) == {1}
    assert set(Transaction.objects.filter(channel=channel).values_list("status", flat=True)) == {"credited"}
    # a killed worker's transaction was rolled back by PostgreSQL: nothing holds row locks
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()")
        assert cursor.fetchone()[0] == 0

    retried = [e for e in log if e["code"] == 200 and e["attempt"] > 1]
    print(f"{len(batches)} batches of up to {BATCH + OVERLAP} events, typical answer {typical:.2f} s; kills during "
          f"batches {kills}, unanswered {sorted(unanswered)}; retries answered {[dict(e['results']) for e in retried]}")
