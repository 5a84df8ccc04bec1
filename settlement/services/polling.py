"""Polling a channel's status API for the swipes whose `next_poll_at` is due.

1. Claim a bounded batch (SELECT ... FOR UPDATE SKIP LOCKED, then push their
   `next_poll_at` out by a lease) and commit: no lock is held across the HTTP call, and
   a second poller skips the locked rows and then no longer sees them as due.
2. Ask the status API about the batch in one request.
3. Apply the answers through the one door (`events_apply`, source "poll"): event ids
   make a repeated answer (another worker, a redelivered task) a duplicate, never a
   second effect. Each answered event is first judged by the same item rules as a
   pushed one (settlement.items.parse_event): a bad item is refused alone and logged.
   An apply that fails anyway (a database error) counts against the batch's rows
   (`poll_apply_failures`); at POLL_MAX_APPLY_FAILURES a row stops being polled
   (`next_poll_at` cleared) and the channel's `poll_apply_error` shows on the staff queue.
4. Reschedule: rows that learned something are polled again after the channel's
   interval, the others back off exponentially. A worker killed between 1 and 4 leaves
   its rows leased; they are due again when the lease ends. `next_poll_at` in the
   database is the truth, never a Celery countdown.
"""

import logging
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError
from django.db import transaction as db_transaction
from django.db.models import F
from django.utils import timezone

from channels.models import Channel
from channels.polling import PollAnswer, PollFailed, status_query
from channels.selectors import poll_signing_for
from channels.services import channel_record_poll
from config import metrics
from settlement import items as item_rules
from settlement.lifecycle import NON_FINAL_STATUSES, Outcome
from settlement.models import SettlementEvent, Transaction
from settlement.services.events import EventInput, events_apply

log = logging.getLogger(__name__)
_NON_FINAL = sorted(NON_FINAL_STATUSES)


@dataclass
class PollReport:
    channel_id: int
    batches: int = 0
    claimed: int = 0
    applied: int = 0
    stale: int = 0
    duplicate: int = 0
    rejected: int = 0
    contradicting: int = 0
    failed: bool = False
    error: str = ""
    more: bool = False  # the last batch was full: there may be more due rows
    counts: Counter = field(default_factory=Counter)  # rejected items by code
    stopped: int = 0  # rows that reached POLL_MAX_APPLY_FAILURES in this run


@dataclass(frozen=True)
class Claimed:
    id: int
    reference: str
    poll_attempts: int
    poll_apply_failures: int = 0


def poll_claim(*, channel_id: int, now: datetime, limit: int, lease: timedelta) -> list[Claimed]:
    """Take up to `limit` due rows of one channel for this poller, oldest due first."""
    with db_transaction.atomic():
        rows = [
            Claimed(*row)
            for row in Transaction.objects.select_for_update(skip_locked=True)
            .filter(channel_id=channel_id, status__in=_NON_FINAL, next_poll_at__lte=now)
            .order_by("next_poll_at")
            .values_list("id", "reference", "poll_attempts", "poll_apply_failures")[:limit]
        ]
        if rows:
            # Conditional too (next_poll_at <= now), so it is safe where SKIP LOCKED is
            # not available (SQLite serialises writers instead).
            Transaction.objects.filter(id__in=[r.id for r in rows], next_poll_at__lte=now).update(
                next_poll_at=now + lease
            )
    return rows


def backoff(*, interval: int, attempts: int) -> timedelta:
    """interval, 2x, 4x ... capped; +-10 % jitter so rows of one batch spread out."""
    seconds = min(interval * 2 ** max(attempts - 1, 0), settings.POLL_MAX_BACKOFF_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.9, 1.1))


def _reschedule(*, rows: list[Claimed], learned: set[str], interval: int, now: datetime) -> None:
    """Rows that learned something start over; the others back off. Only non-final rows:
    a row that became final has next_poll_at NULL from the one door and keeps it."""
    by_attempts: dict[int, list[int]] = {}
    for row in rows:
        attempts = 0 if row.reference in learned else row.poll_attempts + 1
        by_attempts.setdefault(attempts, []).append(row.id)
    for attempts, ids in by_attempts.items():  # a handful of UPDATEs: attempts are small integers
        Transaction.objects.filter(id__in=ids, status__in=_NON_FINAL).update(
            poll_attempts=attempts, poll_apply_failures=0,
            next_poll_at=now + backoff(interval=interval, attempts=attempts),
        )


def _apply_failed(*, channel: Channel, rows: list[Claimed], error: str, now: datetime) -> int:
    """The batch's answers could not be applied: count it on its rows, back them off,
    stop polling the ones that keep failing, show the error on the channel. Returns how
    many rows stopped."""
    failures = max(r.poll_apply_failures for r in rows) + 1
    ids = [r.id for r in rows]
    rows_qs = Transaction.objects.filter(id__in=ids, status__in=_NON_FINAL)
    rows_qs.update(poll_apply_failures=F("poll_apply_failures") + 1,
                   next_poll_at=now + backoff(interval=channel.poll_interval_seconds, attempts=failures))
    stopped = rows_qs.filter(poll_apply_failures__gte=settings.POLL_MAX_APPLY_FAILURES).update(next_poll_at=None)
    Channel.objects.filter(pk=channel.pk).update(poll_apply_error=error[:300], poll_apply_error_at=now)
    log.error("poll of channel %s: answers for %s rows failed to apply (%s); %s rows stop polling",
              channel.code, len(rows), error, stopped)
    return stopped


def events_from_answers(
    answers: dict[str, PollAnswer], wanted: set[str], *, now: datetime | None = None
) -> tuple[list[EventInput], Counter]:
    """The answers as event inputs (deduplicated by event id), each judged by the same
    item rules as a pushed event; the refused ones are counted by code."""
    now = now or timezone.now()
    events: dict[str, EventInput] = {}
    bad: Counter = Counter()
    answered = [a for a in answers.values() if a.reference in wanted]
    check_pan = getattr(answers, "pan_suspect", None)  # the raw answer's look (channels.polling)
    if check_pan is None:
        check_pan = item_rules.suspect([a.events for a in answered])
    for answer in answered:
        for item in answer.events:
            try:
                raw = {**item, "reference": answer.reference} if isinstance(item, dict) else item
                event = item_rules.parse_event(raw, now=now, check_pan=check_pan)
            except item_rules.ItemError as exc:
                bad[exc.code] += 1
                continue
            events.setdefault(event.event_id, event)
    return list(events.values()), bad


def _drop_known(channel_id: int, events: list[EventInput]) -> tuple[list[EventInput], int]:
    """A status answer repeats every event so far; most are stored already. Drop the
    exact repeats (same id, same body) with one indexed query before the one door,
    which would judge and then discard them; a changed body still goes through and is
    refused there as an idempotency conflict."""
    if not events:
        return events, 0
    stored = dict(
        SettlementEvent.objects.filter(channel_id=channel_id, event_id__in=[e.event_id for e in events])
        .values_list("event_id", "fingerprint")
    )
    fresh = [e for e in events if stored.get(e.event_id) != e.fingerprint()]
    return fresh, len(events) - len(fresh)


def channel_poll(
    *, channel_id: int, now: datetime | None = None, batch_size: int | None = None, max_batches: int | None = None
) -> PollReport:
    """Poll one channel's due rows, batch by batch, until none is due or the budget ends."""
    channel = Channel.objects.get(pk=channel_id)
    report = PollReport(channel_id=channel_id)
    if not channel.poll_url or not channel.poll_enabled:
        return report
    batch_size = batch_size or settings.POLL_BATCH_SIZE
    lease = timedelta(seconds=settings.POLL_LEASE_SECONDS)
    signing = None
    for _ in range(max_batches or settings.POLL_MAX_BATCHES):
        at = now or timezone.now()
        rows = poll_claim(channel_id=channel_id, now=at, limit=batch_size, lease=lease)
        if not rows:
            report.more = False
            break
        report.batches += 1
        report.claimed += len(rows)
        report.more = len(rows) == batch_size
        started = time.monotonic()
        try:
            # Read once per run (a secret rotated meanwhile is used from the next run on).
            signing = signing or poll_signing_for(channel)
            answers = status_query(url=channel.poll_url, references=[r.reference for r in rows],
                                   signing=signing)
        except PollFailed as exc:
            metrics.POLL_SECONDS.labels(channel.code).observe(time.monotonic() - started)
            metrics.POLL_FAILURES.labels(channel.code, exc.code).inc()
            report.failed, report.error = True, exc.code
            _reschedule(rows=rows, learned=set(), interval=channel.poll_interval_seconds, now=now or timezone.now())
            channel_record_poll(channel_id=channel_id, ok=False, error=f"{exc.code}: {exc.message}")
            report.more = False
            break
        metrics.POLL_SECONDS.labels(channel.code).observe(time.monotonic() - started)
        events, bad = events_from_answers(answers, {r.reference for r in rows}, now=now or timezone.now())
        report.counts.update(bad)
        metrics.count_events(channel=channel.code, source=SettlementEvent.Source.POLL,
                             outcomes={Outcome.REJECTED: sum(bad.values())})
        events, known = _drop_known(channel_id, events)
        report.duplicate += known
        try:
            results = events_apply(channel=channel, events=events, source=SettlementEvent.Source.POLL) if events else []
        except DatabaseError as exc:  # rolled back whole; the rows must not stay leased forever
            metrics.POLL_FAILURES.labels(channel.code, "apply_failed").inc()
            report.failed, report.error = True, "apply_failed"
            report.stopped += _apply_failed(channel=channel, rows=rows, error=f"apply_failed: {exc.__class__.__name__}",
                                            now=now or timezone.now())
            report.more = False
            break
        learned = set()
        for result in results:
            if result.result == Outcome.APPLIED:
                report.applied += 1
                learned.add(result.reference)
            elif result.result == Outcome.STALE:
                report.stale += 1
                learned.add(result.reference)
            elif result.result == Outcome.DUPLICATE:
                report.duplicate += 1
            elif result.result == Outcome.CONTRADICTS_FINAL:  # stored, a data-error case has it
                report.contradicting += 1
            else:
                report.rejected += 1
                report.counts[result.code] += 1
        report.rejected += sum(bad.values())
        _reschedule(rows=rows, learned=learned, interval=channel.poll_interval_seconds, now=now or timezone.now())
        channel_record_poll(channel_id=channel_id, ok=True)
        if channel.poll_apply_error:  # applied again: clear the banner (no statement otherwise)
            Channel.objects.filter(pk=channel.pk).update(poll_apply_error="", poll_apply_error_at=None)
            channel.poll_apply_error = ""
        if not report.more:
            break
    if report.rejected:
        log.warning("poll of channel %s: %s answers rejected (%s)", channel.code, report.rejected,
                    ", ".join(f"{code}: {n}" for code, n in sorted(report.counts.items())))
    return report


def channels_due_for_poll(*, now: datetime) -> list[tuple[int, datetime | None]]:
    """(id, last_poll_at) of channels with polling on, past their interval, with a due row."""
    due_rows = Transaction.objects.filter(status__in=_NON_FINAL, next_poll_at__lte=now)
    out = []
    for channel in Channel.objects.filter(poll_enabled=True).exclude(poll_url="").only(
        "id", "poll_interval_seconds", "last_poll_at"
    ):
        if channel.last_poll_at and channel.last_poll_at > now - timedelta(seconds=channel.poll_interval_seconds):
            continue
        if due_rows.filter(channel_id=channel.id).exists():
            out.append((channel.id, channel.last_poll_at))
    return out


def channel_poll_mark_enqueued(*, channel_id: int, seen_last_poll_at: datetime | None, now: datetime) -> bool:
    """Conditional update, so two beats (or a beat and a slow worker) enqueue one poll
    per interval: only the one that still sees the old `last_poll_at` wins."""
    if seen_last_poll_at is None:
        return bool(Channel.objects.filter(pk=channel_id, last_poll_at__isnull=True).update(last_poll_at=now))
    return bool(Channel.objects.filter(pk=channel_id, last_poll_at=seen_last_poll_at).update(last_poll_at=now))


def channel_poll_resume(*, channel_id: int, now: datetime, dry_run: bool = False) -> int:
    """After the fix: the rows that stopped polling (POLL_MAX_APPLY_FAILURES) are due
    again with a clean counter, and the channel's banner goes. Returns how many rows."""
    stopped = Transaction.objects.filter(
        channel_id=channel_id, status__in=_NON_FINAL, poll_apply_failures__gte=settings.POLL_MAX_APPLY_FAILURES,
        next_poll_at__isnull=True,
    )
    if dry_run:
        return stopped.count()
    with db_transaction.atomic():
        resumed = stopped.update(poll_apply_failures=0, poll_attempts=0, next_poll_at=now)
        Channel.objects.filter(pk=channel_id).update(poll_apply_error="", poll_apply_error_at=None)
    log.info("channel %s: %s rows resume polling", channel_id, resumed)
    return resumed
