"""Reconciliation forks by database (COPY and epoch arithmetic on PostgreSQL, executemany
and julianday on SQLite, `make run`'s default): the same scenarios run through the SQLite
fork here, in a child pytest, while the suite itself runs them on PostgreSQL. The staff
search rides along: its UNION of arms and trigram-free LIKE run on SQLite under `make run`."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ["tests/settlement/test_reconciliation.py", "tests/settlement/test_reconciliation_breaks.py",
             "tests/channels/test_simulator_settlement_files.py", "tests/settlement/test_bulk_sql.py",
             "tests/settlement/test_staff_workspace.py::test_search_finds_by_every_key",
             "tests/settlement/test_staff_workspace.py::test_a_search_finds_the_same_cases_whether_its_matches_are_few_or_many"]


def test_the_sqlite_fork_gives_the_same_results(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env["VAR_DIR"] = str(tmp_path / "var")
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:xdist", "-p", "no:cacheprovider", "-q",
                           "-k", "not browser", *SCENARIOS], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout
