"""The embedded default's broker (issue 14 item 1): kombu's SQLAlchemy transport on a
SQLite file next to the app's database, consumed by a real Celery worker while several
threads publish: every task runs, once, and nothing is left in the broker."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.embedded_broker import run

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("embedded")]


def test_without_a_broker_url_make_run_uses_a_sqlite_broker_next_to_the_database(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update({"VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "config.settings"})
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            "d = s.DATABASES['default']; print(json.dumps([s.CELERY_BROKER_URL, s.CELERY_BROKER_TRANSPORT_OPTIONS, "
            "str(d['NAME']), d['OPTIONS']['transaction_mode'], d['OPTIONS']['init_command']]))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    broker_url, options, db_name, mode, init = json.loads(done.stdout.strip().splitlines()[-1])
    assert broker_url == f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
    assert options == {}  # this transport hands its options to create_engine
    assert Path(db_name).parent == tmp_path
    assert mode == "IMMEDIATE" and "journal_mode=WAL" in init
    import sqlite3

    with sqlite3.connect(tmp_path / "broker.sqlite3") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_embedded_broker_consumes_tasks_from_several_producer_threads_without_loss():
    result = run(producers=4, tasks=300, timeout=60)
    assert result.errors == []
    assert result.published == 300
    assert result.consumed == 300 and result.twice == 0
    assert result.visible_left == 0
