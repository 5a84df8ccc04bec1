"""`make run`'s process supervisor: starts every line of a Procfile, restarts a process
that exits with exponential backoff, says so loudly, and keeps `var/processes.json`
up to date so the home page and /healthz can tell which part is down.

    python -m config.supervise [-f Procfile.dev]

Why not honcho (what `make run` used): when one process exits it stops all the others.
Why not supervisord or circus: a new dependency, an ini file duplicating the Procfile and
an event listener to publish state; this file is small and reuses honcho's Procfile
parser. Each child gets its own process group, so a stop reaches the gunicorn and
Celery pool processes it forked, and only those."""

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from honcho.environ import parse_procfile

ROOT = Path(__file__).resolve().parent.parent
STATE_WRITE_SECONDS = 2.0  # the file's `updated_at` moves at least this often


@dataclass
class Child:
    name: str
    command: str
    state: str = "starting"  # up | down | stopped
    pid: int | None = None
    restarts: int = 0
    last_exit: int | None = None
    since: float = field(default_factory=time.time)
    next_start: float = 0.0
    popen: subprocess.Popen | None = field(default=None, repr=False)

    def public(self) -> dict:
        return {"state": self.state, "pid": self.pid, "restarts": self.restarts, "last_exit": self.last_exit,
                "since": self.since, "next_start": self.next_start if self.state == "down" else None}


def backoff(restarts: int, *, base: float, cap: float) -> float:
    """Seconds before the next start after `restarts` consecutive quick exits."""
    return min(cap, base * 2 ** max(0, restarts - 1))


class Supervisor:
    def __init__(self, procfile: Path, state_file: Path, *, base: float = 1.0, cap: float = 30.0,
                 stable_after: float = 60.0, env: dict | None = None):
        entries = parse_procfile(procfile.read_text()).processes
        self.children = [Child(name, command) for name, command in entries.items()]
        self.state_file = state_file
        self.base, self.cap, self.stable_after = base, cap, stable_after
        # Unbuffered children: a crash's last lines reach the terminal before the banner.
        self.env = {"PYTHONUNBUFFERED": "1", **os.environ, **(env or {})}
        self.stopping = threading.Event()
        self.width = max(len(c.name) for c in self.children)
        self.started_at = time.time()

    # --- output ------------------------------------------------------------------
    def say(self, name: str, line: str) -> None:
        stamp = time.strftime("%H:%M:%S")
        sys.stdout.write(f"{stamp} {name:<{self.width}} | {line}\n")
        sys.stdout.flush()

    def shout(self, message: str) -> None:
        bar = "!" * 78
        sys.stdout.write(f"{bar}\n!!! {message}\n{bar}\n")
        sys.stdout.flush()

    def _pump(self, child: Child, stream) -> None:
        for raw in iter(stream.readline, b""):
            self.say(child.name, raw.decode(errors="replace").rstrip("\n"))
        stream.close()

    # --- state -------------------------------------------------------------------
    def write_state(self) -> None:
        data = {"supervisor_pid": os.getpid(), "started_at": self.started_at, "updated_at": time.time(),
                "write_seconds": STATE_WRITE_SECONDS, "processes": {c.name: c.public() for c in self.children}}
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, self.state_file)  # readers never see half a file

    # --- processes ---------------------------------------------------------------
    def start(self, child: Child) -> None:
        child.popen = subprocess.Popen(
            f"exec {child.command}", shell=True,  # exec: the pid is the program, not a shell
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() reaches what it forks
        )
        child.pid, child.state, child.since = child.popen.pid, "up", time.time()
        threading.Thread(target=self._pump, args=(child, child.popen.stdout), daemon=True).start()
        self.say(child.name, f"started with pid {child.pid}")

    def reap(self, child: Child, now: float) -> None:
        code = child.popen.poll() if child.popen else None
        if child.state != "up" or code is None:
            return
        try:  # what it forked and left behind (a Celery pool, gunicorn workers) goes too
            os.killpg(child.popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        quick = now - child.since < self.stable_after
        child.restarts = child.restarts + 1 if quick else 1
        wait = backoff(child.restarts, base=self.base, cap=self.cap)
        child.state, child.last_exit, child.since, child.pid = "down", code, now, None
        child.next_start = now + wait
        self.shout(f"{child.name} exited with code {code}; restarting in {wait:.0f} s "
                   f"(restart {child.restarts}); /healthz shows it down until then")
        self.write_state()

    def stop_all(self) -> None:
        for child in self.children:
            if child.popen and child.popen.poll() is None:
                try:
                    os.killpg(child.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 15
        for child in self.children:
            if child.popen is None:
                continue
            try:
                child.popen.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(child.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            child.state, child.pid = "stopped", None
        self.write_state()

    def run(self) -> None:
        try:
            self._loop()
        finally:  # whatever happens here, no child outlives the supervisor
            self.stop_all()

    def _loop(self) -> None:
        for child in self.children:
            self.start(child)
        self.write_state()
        last_write = time.monotonic()
        while not self.stopping.is_set():
            now = time.time()
            for child in self.children:
                self.reap(child, now)
                if child.state == "down" and now >= child.next_start:
                    self.start(child)
                    self.write_state()
            if time.monotonic() - last_write >= STATE_WRITE_SECONDS:
                self.write_state()
                last_write = time.monotonic()
            self.stopping.wait(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run a Procfile; restart what exits, with backoff.")
    parser.add_argument("-f", "--procfile", default=str(ROOT / "Procfile.dev"))
    parser.add_argument("--state-file", default=None, help="default: $VAR_DIR/processes.json")
    parser.add_argument("--backoff-base", type=float, default=1.0)
    parser.add_argument("--backoff-max", type=float, default=30.0)
    args = parser.parse_args(argv)
    var_dir = Path(os.environ.get("VAR_DIR", ROOT / "var"))
    supervisor = Supervisor(Path(args.procfile), Path(args.state_file or var_dir / "processes.json"),
                            base=args.backoff_base, cap=args.backoff_max)

    def on_signal(signum, frame):
        supervisor.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    supervisor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
