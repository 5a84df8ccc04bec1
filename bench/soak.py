"""`make soak`: `make run`'s embedded default (SQLite + the SQLite broker, the
supervisor and Procfile.dev: web, worker, beat, simulator) under a mixed load for
--seconds (default 300), then checks that it held (issue 14 "Done when").

It sets up a fresh VAR_DIR (a temporary folder) on spare ports exactly as `make run`
does, then, besides the simulator's own pushes and beat's polls and scans:
  - pushes signed batches of new swipes and their events (demo-acq's secret);
  - publishes a late scan (settlement.tasks.flag_delays) and an email sweep;
  - opens a merchant inquiry through the web UI (the demo merchant's login);
  - reads the merchant dashboard and /healthz.
At the end it stops the load, lets the worker drain, and checks:
  - every process is up and was never restarted (var/processes.json);
  - every message published to the broker was consumed, and every task the worker
    received succeeded (from the worker's log lines, by task id);
  - every event acknowledged with 200 is stored, exactly once;
  - /healthz answers 200 with the worker check ok.
Exit status 0 when all hold. Only the supervisor started here is stopped, by its pid.

    python -m bench.soak --seconds 300 [--keep]
"""

import argparse
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
TASK_LINE = re.compile(r"Task ([\w.]+)\[([0-9a-f-]{36})\] (received|succeeded|raised|failed|retry)")


def free_port(start: int) -> int:
    for port in range(start, start + 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port from {start}")


class Stack:
    """The supervisor and its four processes, on a fresh VAR_DIR."""

    def __init__(self, var: Path, rate: float):
        self.var = var
        self.web_port, self.sim_port = free_port(8760), free_port(9760)
        self.base = f"http://127.0.0.1:{self.web_port}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
        env.update(VAR_DIR=str(var), WEB_PORT=str(self.web_port), SIM_PORT=str(self.sim_port),
                   SIM_RATE=str(rate), PYTHONUNBUFFERED="1")
        self.env = env
        for command in (["manage.py", "migrate", "--noinput", "-v0"],
                        ["manage.py", "load_demo", "--poll-base-url", f"http://127.0.0.1:{self.sim_port}"],
                        ["manage.py", "flag_delays"]):
            subprocess.run([PY, *command], cwd=ROOT, env=env, check=True, timeout=600, stdout=subprocess.DEVNULL)
        self.log_path = var / "supervisor.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen([PY, "-m", "config.supervise", "-f", "Procfile.dev"], cwd=ROOT, env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def broker_url(self) -> str:
        return f"sqla+sqlite:///{self.var / 'broker.sqlite3'}"

    def secrets(self) -> dict:
        return json.loads((self.var / "demo_channels.json").read_text())

    def processes(self) -> dict:
        return json.loads((self.var / "processes.json").read_text())["processes"]

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                procs = self.processes()
                if all(p["state"] == "up" for p in procs.values()) and requests.get(
                        self.base + "/healthz", timeout=5).status_code == 200:
                    return
            except (OSError, ValueError, KeyError, requests.RequestException):
                pass
            time.sleep(1)
        raise RuntimeError("the stack did not come up:\n" + self.output()[-4000:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)  # the supervisor stops its children
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


class Load:
    def __init__(self, stack: Stack, seconds: float):
        self.stack = stack
        self.until = time.monotonic() + seconds
        self.counts: Counter = Counter()
        self.problems: list[str] = []
        self.acknowledged: set[str] = set()
        self.published: list[str] = []
        self.lock = threading.Lock()

    def running(self) -> bool:
        return time.monotonic() < self.until and not self.problems

    def guarded(self, body) -> None:
        try:
            body()
        except Exception as exc:  # noqa: BLE001 - reported with the checks
            self.problems.append(f"{body.__name__}: {exc!r}"[:300])
            if self.stack.proc.poll() is not None:
                self.problems.append(f"the supervisor exited ({self.stack.proc.returncode}): stopped from outside?")

    def note(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.counts[what] += n

    def pusher(self) -> None:
        from channels.api.signing import signed_headers

        secret = self.stack.secrets()["demo-acq"]
        url = self.stack.base + "/api/v1/acquirer/demo-acq"
        number = 0
        while self.running():
            number += 1
            captured = datetime.now(UTC) - timedelta(hours=30)
            refs = [f"SOAK{number:05d}{i:02d}" for i in range(20)]
            swipes = [{"reference": r, "merchant_no": "M100001", "amount": "58.00", "currency": "CNY",
                       "masked_pan": "622202******1234", "method": "chip", "captured_at": captured.isoformat()}
                      for r in refs]
            events = [{"event_id": f"soak-{r}-{kind}", "reference": r, "type": kind,
                       "occurred_at": (captured + timedelta(hours=h)).isoformat()}
                      for kind, h in (("cleared", 1), ("settled", 20)) for r in refs]
            for path, key, items in (("transactions", "transactions", swipes), ("events", "events", events)):
                body = json.dumps({key: items}).encode()
                msg_id = f"soak-{path}-{number}"
                for _attempt in range(20):
                    try:
                        response = requests.post(f"{url}/{path}", data=body, timeout=30,
                                                 headers=signed_headers(secret, body, msg_id=msg_id))
                    except requests.RequestException:
                        self.note("push_no_answer")
                        time.sleep(1)
                        continue
                    self.note(f"push_{response.status_code}")
                    if response.status_code == 200:
                        if key == "events":
                            with self.lock:
                                self.acknowledged.update(e["event_id"] for e in events)
                        break
                    if response.status_code < 500:
                        self.problems.append(f"push {path} {response.status_code}: {response.text[:300]}")
                        return
                    time.sleep(1)
            time.sleep(2)

    def publisher(self) -> None:
        from kombu import Connection

        from config.celery import app

        while self.running():
            with Connection(self.stack.broker_url) as conn:
                for name in ("settlement.tasks.flag_delays", "settlement.tasks.sweep_notification_emails"):
                    result = app.send_task(name, connection=conn)
                    with self.lock:
                        self.published.append(result.id)
            self.note("tasks_published", 2)
            time.sleep(10)

    def merchant(self) -> None:
        session = requests.Session()
        base = self.stack.base
        session.get(base + "/accounts/login/", timeout=30)
        login = session.post(base + "/accounts/login/", timeout=30, data={
            "username": "merchant", "password": "demo-merchant-pass",
            "csrfmiddlewaretoken": session.cookies.get("csrftoken")}, headers={"Referer": base + "/accounts/login/"})
        if "/m/" not in login.url:
            self.problems.append(f"merchant login failed: {login.status_code} {login.url}")
            return
        while self.running():
            page = session.get(base + "/m/swipes/", timeout=30)
            self.note(f"dashboard_{page.status_code}")
            ids = re.findall(r'href="/m/swipes/(\d+)/"', page.text)
            if ids:
                pk = ids[self.counts["inquiries"] % len(ids)]
                asked = session.post(f"{base}/m/swipes/{pk}/ask/", timeout=30,
                                     data={"message": "Where is my money? (soak)",
                                           "csrfmiddlewaretoken": session.cookies.get("csrftoken")},
                                     headers={"Referer": f"{base}/m/swipes/{pk}/"})
                self.note("inquiries" if asked.status_code == 200 else f"inquiry_{asked.status_code}")
            health = requests.get(base + "/healthz", timeout=30)
            self.note(f"healthz_{health.status_code}")
            time.sleep(5)


def broker_backlog(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
        return db.execute("SELECT count(*) FROM kombu_message WHERE visible = 1").fetchone()[0]


def stored_events(path: Path, ids: set[str]) -> Counter:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as db:
        rows = db.execute("SELECT event_id FROM settlement_settlementevent WHERE event_id LIKE 'soak-%'").fetchall()
    return Counter(r[0] for r in rows if r[0] in ids)


def _tracebacks(output: str) -> list[str]:
    """The exception line ending each traceback in the output (prefixed by the supervisor)."""
    found, inside = [], False
    for line in output.splitlines():
        text = line.split("| ", 1)[-1]
        if text.startswith("Traceback"):
            inside = True
        elif inside and text and not text.startswith((" ", "\t", "^", "~")) and not text.startswith("During"):
            found.append(f"{line.split('|', 1)[0].strip()}: {text[:200]}")
            inside = False
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--rate", type=float, default=60, help="the simulator's new swipes per minute per channel")
    parser.add_argument("--keep", action="store_true", help="keep the temporary VAR_DIR (its logs)")
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    var = Path(tempfile.mkdtemp(prefix="soak-"))
    print(f"soak: VAR_DIR {var}, {args.seconds:.0f} s")
    stack = Stack(var, args.rate)
    ok = False
    try:
        stack.wait_up()
        print(f"soak: up on {stack.base}; load for {args.seconds:.0f} s")
        load = Load(stack, args.seconds)
        threads = [threading.Thread(target=load.guarded, args=(t,), daemon=True)
                   for t in (load.pusher, load.publisher, load.merchant)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=args.seconds + 120)

        def tasks_seen() -> dict[str, set]:
            seen: dict[str, set] = {}
            for _name, task_id, what in TASK_LINE.findall(stack.output()):
                seen.setdefault(task_id, set()).add(what)
            return seen

        def unfinished_in(seen: dict[str, set]) -> bool:
            return any(not what & {"succeeded", "raised", "failed"} for what in seen.values())

        # Let the worker drain the queue and finish what it holds. Beat keeps sending, so
        # judge at a quiet instant: nothing visible in the broker, no task received and
        # not yet finished (measured together, without a sleep in between).
        deadline = time.monotonic() + 90
        while True:
            backlog, tasks = broker_backlog(var / "broker.sqlite3"), tasks_seen()
            if (not backlog and not unfinished_in(tasks)) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        unfinished = [t for t, seen in tasks.items() if "succeeded" not in seen]
        failed = [t for t, seen in tasks.items() if seen & {"raised", "failed"}]
        ours_not_run = [t for t in load.published if "succeeded" not in tasks.get(t, set())]
        procs = stack.processes()
        stored = stored_events(var / "db.sqlite3", load.acknowledged)
        health = requests.get(stack.base + "/healthz", timeout=30)
        worker_check = health.json().get("checks", {}).get("worker", {}).get("status")
        checks = {
            "load ran without problems": not load.problems,
            "every process up, none restarted": all(p["state"] == "up" and p["restarts"] == 0
                                                    for p in procs.values()),
            "broker drained (no visible message left)": backlog == 0,
            "every received task succeeded": not unfinished and not failed,
            "every task the soak published ran": not ours_not_run,
            "every acknowledged event stored once": set(stored) == load.acknowledged
                                                    and set(stored.values()) <= {1},
            "healthz 200, worker ok": health.status_code == 200 and worker_check == "ok",
        }
        print(json.dumps({"counts": dict(load.counts), "tasks_seen": len(tasks), "unfinished": unfinished[:10],
                          "failed": failed[:10], "published_not_run": ours_not_run[:10], "backlog": backlog,
                          "acknowledged_events": len(load.acknowledged),
                          "processes": {n: {k: p[k] for k in ("state", "restarts")} for n, p in procs.items()},
                          "problems": load.problems[:5], "healthz": health.json().get("status")}, indent=1))
        for name, held in checks.items():
            print(f"  {'ok  ' if held else 'FAIL'} {name}")
        ok = all(checks.values())
        errors = _tracebacks(stack.output())
        print(f"soak: {'PASSED' if ok else 'FAILED'}; tracebacks in the output: {len(errors)}")
        for line, n in Counter(errors).most_common(5):
            print(f"  {n} x {line}")
    finally:
        stack.stop()
        if args.keep or not ok:
            print(f"soak: logs kept in {var}")
        else:
            shutil.rmtree(var, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
