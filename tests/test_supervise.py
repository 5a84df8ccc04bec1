"""`make run`'s supervisor (issue 14 item 2): a process that exits is restarted with
backoff, loudly, and var/processes.json says which part is down meanwhile."""

import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from config.supervise import backoff
from tests.proctree import alive
from tests.simproc import wait_for

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("embedded")]


def test_backoff_doubles_up_to_the_cap():
    assert [backoff(n, base=1, cap=30) for n in (1, 2, 3, 4, 5, 6, 9)] == [1, 2, 4, 8, 16, 30, 30]


def test_a_crashing_process_is_restarted_with_backoff_and_shown_down(tmp_path):
    # given: a Procfile with a steady process and one that dies at once
    procfile = tmp_path / "Procfile"
    crash = f"{sys.executable} -c 'import sys; print(\"dying\"); sys.exit(3)'"
    procfile.write_text(f"steady: sleep 60\ncrashy: {crash}\n")
    state_file = tmp_path / "processes.json"
    log = open(tmp_path / "supervisor.log", "w")  # noqa: SIM115
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "config.supervise", "-f", str(procfile), "--state-file", str(state_file),
         "--backoff-base", "0.3", "--backoff-max", "1.2"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        def state():
            return json.loads(state_file.read_text()) if state_file.exists() else None

        # when / then: crashy is restarted again and again, with growing waits, loudly
        wait_for(lambda: (state() or {}).get("processes", {}).get("crashy", {}).get("restarts", 0) >= 4,
                 timeout=20, message="four restarts of the crashing process")
        seen = state()
        assert seen["processes"]["crashy"]["last_exit"] == 3
        assert seen["processes"]["steady"]["state"] == "up" and seen["processes"]["steady"]["restarts"] == 0
        steady_pid = seen["processes"]["steady"]["pid"]
        assert alive(steady_pid)
        output = (tmp_path / "supervisor.log").read_text()
        assert "!!! crashy exited with code 3; restarting in" in output and "dying" in output
        # each child's lines come through the supervisor, prefixed with its name
        assert re.search(r"crashy +\| dying", output) and "Traceback" not in output, output[-2000:]
        # ... and down is visible while it waits
        wait_for(lambda: state()["processes"]["crashy"]["state"] == "down", timeout=10, interval=0.02,
                 message="crashy shown down")
    finally:
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(timeout=30)
        log.close()
    # the supervisor's stop ends the children it started
    assert supervisor.returncode == 0
    assert not alive(steady_pid)
    assert {p["state"] for p in json.loads(state_file.read_text())["processes"].values()} == {"stopped"}


def test_make_run_uses_the_supervisor():
    makefile = (ROOT / "Makefile").read_text()
    assert "-m config.supervise -f Procfile.dev" in makefile and "honcho -f" not in makefile
    assert (ROOT / "Procfile.dev").exists()
