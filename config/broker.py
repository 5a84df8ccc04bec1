"""The embedded broker's SQLite file (kombu's SQLAlchemy transport under `make run`)."""

import sqlite3
from pathlib import Path


def sqlite_broker_prepare(url: str) -> Path | None:
    """Create the broker file's folder and put the file in WAL mode (a property of the
    file, so it holds for kombu's own connections): publishers and the consumer then
    commit without blocking each other's reads, about 3x the publish rate of the
    default rollback journal (bench/embedded_broker.py). None for other brokers."""
    prefix = next((p for p in ("sqla+sqlite:///", "sqlalchemy+sqlite:///") if url.startswith(p)), None)
    if prefix is None:
        return None
    path = Path(url.removeprefix(prefix).split("?", 1)[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, timeout=30) as db:
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode != "wal":
        raise RuntimeError(f"the embedded broker {path} cannot use WAL (journal_mode={mode})")
    return path
