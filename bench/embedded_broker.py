"""The embedded broker of `make run` (kombu's SQLAlchemy transport on a SQLite file):
N producer threads publish M tasks in all while one real Celery worker (prefork, 2
processes, as in Procfile.dev) consumes them. Reports publish and drain rates and
checks that every task ran exactly once (its id in the worker's "succeeded" lines) and
no message is left visible in the broker file.

    python -m bench.embedded_broker [--producers 4] [--tasks 2000] [--timeout 120]

BENCH_WORKER_ARGS adds worker options (e.g. "--prefetch-multiplier 1" to compare).

Needs no server: the app's database and the broker are SQLite files in a temp folder.
Only the worker this script starts is stopped, by its pid."""

import argparse
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from config.broker import sqlite_broker_prepare

ROOT = Path(__file__).resolve().parent.parent
TASK = "channels.tasks.noop"
EXTRA = os.environ.get("BENCH_WORKER_ARGS", "").split()
SUCCEEDED = re.compile(r"Task channels\.tasks\.noop\[([0-9a-f-]+)\] succeeded")


@dataclass
class Result:
    published: int
    consumed: int
    twice: int
    visible_left: int
    publish_seconds: float
    drain_seconds: float
    errors: list

    @property
    def ok(self) -> bool:
        return not self.errors and self.consumed == self.published and self.twice == 0 and self.visible_left == 0


def _env(folder: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update({"DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}", "VAR_DIR": str(folder),
                "DJANGO_SETTINGS_MODULE": "config.settings"})
    return env


def _visible(broker: Path) -> int:
    with sqlite3.connect(broker, timeout=30) as db:
        return db.execute("SELECT count(*) FROM kombu_message WHERE visible = 1").fetchone()[0]


def run(*, producers: int, tasks: int, timeout: float = 120.0) -> Result:
    with tempfile.TemporaryDirectory(prefix="embedded-broker-") as tmp:
        folder = Path(tmp)
        env = _env(folder)
        broker_url = f"sqla+sqlite:///{folder / 'broker.sqlite3'}"
        log_path = folder / "worker.log"
        sqlite_broker_prepare(broker_url)  # as settings.py does for `make run`
        with open(log_path, "w") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "prefork", "--concurrency", "2",
                 "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "INFO", *EXTRA,
                 "-n", f"bench-embedded-{os.getpid()}@local"],
                cwd=ROOT, env={**env, "CELERY_BROKER_URL": broker_url}, stdout=log, stderr=subprocess.STDOUT,
            )
        try:
            return _load(broker_url, folder / "broker.sqlite3", log_path, worker, producers, tasks, timeout)
        finally:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    worker.kill()
                    worker.wait(timeout=10)


def _load(broker_url, broker, log_path, worker, producers, tasks, timeout) -> Result:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from celery import Celery

    app = Celery("bench-producer", broker=broker_url)
    app.conf.broker_connection_retry_on_startup = True
    errors: list = []
    ids: list[str] = []
    lock = threading.Lock()
    share = [tasks // producers + (1 if i < tasks % producers else 0) for i in range(producers)]

    def produce(count: int) -> None:
        try:
            with app.connection_for_write(broker_url) as conn:  # CELERY_BROKER_URL would win otherwise
                for _ in range(count):
                    sent = app.send_task(TASK, connection=conn)
                    with lock:
                        ids.append(sent.id)
        except Exception as exc:  # noqa: BLE001 - reported in the result
            errors.append(repr(exc))

    started = time.monotonic()
    threads = [threading.Thread(target=produce, args=(n,)) for n in share]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    published_at = time.monotonic()
    wanted = set(ids)
    seen: Counter = Counter()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            errors.append(f"the worker exited with {worker.returncode}")
            break
        seen = Counter(m for m in SUCCEEDED.findall(log_path.read_text()) if m in wanted)
        if len(seen) >= len(wanted):
            break
        time.sleep(0.2)
    drained_at = time.monotonic()
    if "Traceback" in log_path.read_text():
        errors.append("a traceback in the worker log: " + log_path.read_text()[-2000:])
    return Result(
        published=len(ids), consumed=len(seen), twice=sum(1 for v in seen.values() if v > 1),
        visible_left=_visible(broker), publish_seconds=published_at - started,
        drain_seconds=drained_at - started, errors=errors,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    result = run(producers=args.producers, tasks=args.tasks, timeout=args.timeout)
    print(f"producers {args.producers}, tasks {result.published}: consumed {result.consumed}, twice {result.twice}, "
          f"left visible {result.visible_left}")
    print(f"publish  {result.published / result.publish_seconds:8.1f} tasks/s ({result.publish_seconds:.1f} s)")
    print(f"end-to-end {result.consumed / result.drain_seconds:6.1f} tasks/s ({result.drain_seconds:.1f} s)")
    for error in result.errors:
        print("ERROR", error)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
