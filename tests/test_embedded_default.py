"""`make run`'s embedded default (SQLite in WAL mode) migrates, loads the demo and
applies events: the PostgreSQL fast paths must have a working SQLite fallback."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_demo_loads_on_sqlite(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    env["VAR_DIR"] = str(tmp_path / "var")

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout

    manage("migrate", "--noinput", "-v0")
    manage("load_demo", "--swipes", "10")
    out = manage("shell", "-c", "from settlement.models import Transaction, SettlementEvent;"
                 "print(Transaction.objects.exclude(status='captured').count(), SettlementEvent.objects.count())")
    moved, events = map(int, out.split()[-2:])
    assert moved > 0 and events > moved
    # The deadline recompute's SQLite fork (issue 10): a day made a holiday moves deadlines.
    out = manage("shell", "-c", "from settlement.models import Transaction;"
                 "from django.utils import timezone; import datetime;"
                 "t = Transaction.objects.filter(status__in=['captured', 'cleared', 'settled'], calendar_incomplete=False)"
                 ".order_by('expected_by').last(); print(timezone.localdate(t.expected_by))")
    day = out.split()[-1]
    out = manage("calendar_day", "demo-acq", day, "holiday", "--name", "test")
    assert "deadlines moved" in out and " 0 deadlines moved" not in out, out
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT count(*) FROM settlement_settlementevent WHERE type = 'rescheduled'").fetchone()[0]
    assert (tmp_path / "var" / "demo_channels.json").exists()
    # The payout door on SQLite too: demo credits whose swipes all arrived are credited by
    # the credited-by-swipes rule, and the demo's one credit that does not add up is stored.
    out = manage("shell", "-c", "from settlement.models import Payout, PayoutDiscrepancy, PayoutEvent;"
                 "print(Payout.objects.filter(status='credited').count(),"
                 " PayoutEvent.objects.filter(rule='credited_by_swipes').count(),"
                 " PayoutDiscrepancy.objects.filter(resolved_at=None).count())")
    credited, by_rule, discrepancies = map(int, out.split()[-3:])
    assert credited > 0 and by_rule == credited and discrepancies == 1
