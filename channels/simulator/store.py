"""The simulator's own state: a SQLite file (or memory), never our database.

Times are stored as UNIX seconds (floats) so they compare as numbers. One connection
shared by the HTTP threads and the engine, behind a lock.
"""

import json
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from channels.simulator.scenarios import PlannedEvent, PlannedPayout, Swipe

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (channel TEXT, key TEXT, value TEXT, PRIMARY KEY (channel, key));
CREATE TABLE IF NOT EXISTS swipes (
    channel TEXT, reference TEXT, merchant_no TEXT, terminal_sn TEXT, amount TEXT, net TEXT,
    captured_at REAL, masked_pan TEXT, method TEXT, PRIMARY KEY (channel, reference));
CREATE TABLE IF NOT EXISTS events (
    channel TEXT, event_id TEXT, reference TEXT, type TEXT, occurred_at REAL, payout_reference TEXT,
    reason TEXT, push_at REAL, duplicate INTEGER, queued INTEGER DEFAULT 0, PRIMARY KEY (channel, event_id));
CREATE INDEX IF NOT EXISTS events_ref ON events (channel, reference);
CREATE INDEX IF NOT EXISTS events_push ON events (queued, push_at);
CREATE TABLE IF NOT EXISTS payouts (
    channel TEXT, reference TEXT, merchant_no TEXT, sent_at REAL, status TEXT, at REAL,
    queued INTEGER DEFAULT 0, PRIMARY KEY (channel, reference, status));
CREATE TABLE IF NOT EXISTS payout_members (channel TEXT, payout TEXT, reference TEXT,
    PRIMARY KEY (channel, payout, reference));
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY, channel TEXT, webhook_id TEXT, method TEXT, path TEXT, body TEXT,
    due_at REAL, attempts INTEGER DEFAULT 0, repeat INTEGER DEFAULT 0, done INTEGER DEFAULT 0,
    last_status TEXT DEFAULT '');
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (done, due_at);
"""


def ts(at: datetime) -> float:
    return at.timestamp()


def dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, tz=UTC)


class Store:
    def __init__(self, path: str):
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(SCHEMA)
        self.lock = threading.RLock()

    # --- meta -----------------------------------------------------------------
    def get_meta(self, channel: str, key: str, default: str | None = None) -> str | None:
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE channel=? AND key=?", (channel, key)).fetchone()
        return row[0] if row else default

    def set_meta(self, channel: str, key: str, value: str) -> None:
        with self.lock:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?, ?)", (channel, key, value))

    # --- planning ----------------------------------------------------------------
    def add_swipe(self, channel: str, swipe: Swipe, net: Decimal, events: list[PlannedEvent],
                  payouts: list[PlannedPayout]) -> bool:
        """Store a swipe and its plan; False when the reference is already known."""
        with self.lock:
            self.db.execute("BEGIN")
            try:
                cur = self.db.execute(
                    "INSERT OR IGNORE INTO swipes VALUES (?,?,?,?,?,?,?,?,?)",
                    (channel, swipe.reference, swipe.merchant_no, swipe.terminal_sn, str(swipe.amount), str(net),
                     ts(swipe.captured_at), swipe.masked_pan, swipe.method),
                )
                if cur.rowcount == 0:
                    self.db.execute("ROLLBACK")
                    return False
                self.db.executemany(
                    "INSERT OR IGNORE INTO events (channel, event_id, reference, type, occurred_at, payout_reference,"
                    " reason, push_at, duplicate) VALUES (?,?,?,?,?,?,?,?,?)",
                    [(channel, e.event_id, e.reference, e.type, ts(e.occurred_at), e.payout_reference, e.reason,
                      ts(e.push_at) if e.push_at else None, int(e.duplicate)) for e in events],
                )
                self.db.executemany(
                    "INSERT OR IGNORE INTO payouts (channel, reference, merchant_no, sent_at, status, at)"
                    " VALUES (?,?,?,?,?,?)",
                    [(channel, p.reference, p.merchant_no, ts(p.sent_at), p.status, ts(p.at)) for p in payouts],
                )
                self.db.executemany(
                    "INSERT OR IGNORE INTO payout_members VALUES (?,?,?)",
                    [(channel, p.reference, swipe.reference) for p in payouts],
                )
                self.db.execute("COMMIT")
                return True
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    # --- what the status API answers ----------------------------------------------
    def events_known(self, channel: str, references: Iterable[str], now: datetime) -> dict[str, list[dict]]:
        refs = list(references)
        answer: dict[str, list[dict]] = {}
        with self.lock:
            known = {
                r for (r,) in self.db.execute(
                    f"SELECT reference FROM swipes WHERE channel=? AND reference IN ({','.join('?' * len(refs))})",
                    (channel, *refs),
                )
            } if refs else set()
            rows = self.db.execute(
                "SELECT event_id, reference, type, occurred_at, payout_reference, reason FROM events"
                f" WHERE channel=? AND reference IN ({','.join('?' * len(refs))}) AND occurred_at <= ?"
                " ORDER BY occurred_at",
                (channel, *refs, ts(now)),
            ).fetchall() if refs else []
        for ref in known:
            answer[ref] = []
        for event_id, ref, kind, occurred_at, payout, reason in rows:
            answer[ref].append(event_dict(event_id, ref, kind, occurred_at, payout, reason))
        return answer

    def swipes(self, channel: str, now: datetime) -> list[dict]:
        """Each swipe with the type of its latest event so far (for tests and people)."""
        with self.lock:
            rows = self.db.execute(
                "SELECT s.reference, s.merchant_no, s.amount, s.captured_at,"
                " (SELECT type FROM events e WHERE e.channel=s.channel AND e.reference=s.reference"
                "  AND e.occurred_at <= ? ORDER BY occurred_at DESC LIMIT 1)"
                " FROM swipes s WHERE s.channel=? ORDER BY s.captured_at",
                (ts(now), channel),
            ).fetchall()
        return [{"reference": r, "merchant_no": m, "amount": a, "captured_at": dt(c).isoformat(),
                 "status": st or "captured"} for r, m, a, c, st in rows]

    def all_events(self, channel: str, now: datetime) -> list[dict]:
        with self.lock:
            rows = self.db.execute(
                "SELECT event_id, reference, type, occurred_at, payout_reference, reason FROM events"
                " WHERE channel=? AND occurred_at <= ? ORDER BY occurred_at", (channel, ts(now)),
            ).fetchall()
        return [event_dict(*row) for row in rows]

    # --- what the push client sends -------------------------------------------------
    def take_due_pushes(self, channel: str, now: datetime, limit: int = 200) -> list[dict]:
        with self.lock:
            rows = self.db.execute(
                "SELECT event_id, reference, type, occurred_at, payout_reference, reason, duplicate FROM events"
                " WHERE channel=? AND queued=0 AND push_at IS NOT NULL AND push_at <= ? ORDER BY push_at LIMIT ?",
                (channel, ts(now), limit),
            ).fetchall()
            self.db.executemany("UPDATE events SET queued=1 WHERE channel=? AND event_id=?",
                                [(channel, r[0]) for r in rows])
        return [{**event_dict(*r[:6]), "_duplicate": bool(r[6])} for r in rows]

    def take_due_payouts(self, channel: str, now: datetime) -> list[dict]:
        with self.lock:
            rows = self.db.execute(
                "SELECT reference, merchant_no, sent_at, status FROM payouts"
                " WHERE channel=? AND queued=0 AND at <= ? ORDER BY at", (channel, ts(now)),
            ).fetchall()
            out = []
            for ref, merchant_no, sent_at, status in rows:
                members = self.db.execute(
                    "SELECT s.reference, s.net FROM payout_members m JOIN swipes s"
                    " ON s.channel=m.channel AND s.reference=m.reference WHERE m.channel=? AND m.payout=?"
                    " ORDER BY s.reference", (channel, ref),
                ).fetchall()
                out.append({
                    "payout_reference": ref, "merchant_no": merchant_no,
                    "amount": str(sum((Decimal(n) for _, n in members), Decimal("0.00"))),
                    "transaction_references": [r for r, _ in members], "status": status,
                    "sent_at": dt(sent_at).isoformat(),
                })
                self.db.execute("UPDATE payouts SET queued=1 WHERE channel=? AND reference=? AND status=?",
                                (channel, ref, status))
        return out

    def outbox_add(self, channel: str, *, webhook_id: str, method: str, path: str, body: dict, due_at: datetime,
                   repeat: bool = False) -> None:
        with self.lock:
            self.db.execute(
                "INSERT INTO outbox (channel, webhook_id, method, path, body, due_at, repeat) VALUES (?,?,?,?,?,?,?)",
                (channel, webhook_id, method, path, json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                 ts(due_at), int(repeat)),
            )

    def outbox_due(self, now: datetime, limit: int = 20) -> list[tuple]:
        with self.lock:
            return self.db.execute(
                "SELECT id, channel, webhook_id, method, path, body, attempts, repeat FROM outbox"
                " WHERE done=0 AND due_at <= ? ORDER BY due_at, id LIMIT ?", (ts(now), limit),
            ).fetchall()

    def outbox_done(self, item_id: int, status: str) -> None:
        with self.lock:
            self.db.execute("UPDATE outbox SET done=1, last_status=? WHERE id=?", (status, item_id))

    def outbox_again(self, item_id: int, due_at: datetime, status: str, *, count_attempt: bool = True,
                     clear_repeat: bool = False) -> None:
        with self.lock:
            self.db.execute(
                "UPDATE outbox SET due_at=?, attempts=attempts+?, last_status=?,"
                " repeat=CASE WHEN ? THEN 0 ELSE repeat END WHERE id=?",
                (ts(due_at), int(count_attempt), status, int(clear_repeat), item_id),
            )

    def outbox_stats(self) -> dict:
        with self.lock:
            pending, done = self.db.execute(
                "SELECT COALESCE(SUM(done=0),0), COALESCE(SUM(done=1),0) FROM outbox").fetchone()
        return {"pending": pending, "done": done}


def event_dict(event_id, reference, kind, occurred_at, payout, reason) -> dict:
    return {"event_id": event_id, "reference": reference, "type": kind, "occurred_at": dt(occurred_at).isoformat(),
            "payout_reference": payout or "", "reason": reason or ""}
