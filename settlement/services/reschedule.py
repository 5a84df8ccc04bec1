"""Stored deadlines follow their inputs (DESIGN.md "Expected arrival").

A change that moves deadlines (a calendar day, a year marked complete, a channel's
cut-off / arrival-by / window / morning / grace) writes a DeadlineRecompute row in its
own transaction. `recompute_batch` then works it in bounded batches, each a constant
number of statements whatever its size:

1. the next ids by keyset: first the swipes not late, by (overdue_at, id) over
   txn_overdue_unflagged from `since` on; then the late ones, by id over txn_late_inflight;
2. lock those rows in id order (the order events_apply locks in, so no deadlock) and
   read them with their merchant's cycle;
3. the new deadline of each row in Python (the calendar snapshot is one read per
   calendar; T1/D1 results are memoised per business date);
4. one UPDATE ... FROM (VALUES ...) of the rows whose deadline moved, one INSERT of
   their `rescheduled` events, and for the late ones now due in the future: their cases
   resolved (`rescheduled`), two statements; one notification per merchant and batch.

The same step 4 serves a returned swipe that is re-settled (`deadlines_on_repaid`).
Re-payment rule: the deadline is the merchant's cycle counted from the re-settlement
instant (`scheduled_from`), as if the money were captured again then: the bank pays a
re-sent credit in its next cycle, not by the original promise.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import CharField, Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from channels.business_days import BusinessDays
from channels.models import Channel
from channels.selectors import business_days_for
from settlement.arrival import Arrival, ArrivalRules, Cycle, business_date_of, expected_arrival
from settlement.lifecycle import NON_FINAL_STATUSES, EventType, Status
from settlement.models import CaseEntry, DeadlineRecompute, FollowUpCase, Notification, SettlementEvent, Transaction
from settlement.services.notifications import notifications_create
from settlement.services.schedule import arrival_rules

_NON_FINAL = sorted(NON_FINAL_STATUSES)
_OPEN_CASE = [FollowUpCase.Status.OPEN, FollowUpCase.Status.CLAIMED, FollowUpCase.Status.ESCALATED]
# What each batch reads per row (in this order).
_COLUMNS = (
    "id", "channel_id", "merchant_id", "reference", "amount", "status", "captured_at", "scheduled_from",
    "business_date", "expected_by", "overdue_at", "calendar_incomplete", "delayed_since", "at_risk_since",
    "late_round", "merchant__settlement_cycle",
)
_UPDATED = ("business_date", "expected_by", "overdue_at", "calendar_incomplete", "delayed_since",
            "at_risk_since", "late_round", "scheduled_from", "updated_at")


@dataclass
class Row:
    id: int
    channel_id: int
    merchant_id: int
    reference: str
    amount: Decimal
    status: str
    captured_at: datetime
    scheduled_from: datetime | None
    business_date: date
    expected_by: datetime
    overdue_at: datetime
    calendar_incomplete: bool
    delayed_since: datetime | None
    at_risk_since: datetime | None
    late_round: int
    cycle: str


@dataclass
class BatchReport:
    looked_at: int = 0
    changed: int = 0
    unlated: int = 0
    notification_ids: list[int] = field(default_factory=list)
    more: bool = False  # the request has work left: run another batch
    claimed: bool = True  # False: done already, or another worker holds it


class Deadlines:
    """New deadlines for rows of some channels: one calendar read per calendar."""

    def __init__(self, channels: dict[int, Channel]):
        self.channels = channels
        self._days: dict[int, BusinessDays] = {}
        self._rules: dict[tuple[int, str], ArrivalRules] = {}
        self._memo: dict[tuple, Arrival] = {}

    def days(self, channel: Channel) -> BusinessDays:
        if channel.calendar_id not in self._days:
            self._days[channel.calendar_id] = business_days_for(channel.calendar_id, use_cache=False)
        return self._days[channel.calendar_id]

    def arrival(self, channel_id: int, cycle: str, base: datetime) -> Arrival:
        channel = self.channels[channel_id]
        rules = self._rules.get((channel_id, cycle))
        if rules is None:
            rules = self._rules[(channel_id, cycle)] = arrival_rules(channel, cycle)
        if cycle in (Cycle.T1, Cycle.D1):  # depends on the business date only
            key = (channel_id, cycle, business_date_of(base, rules))
            hit = self._memo.get(key)
            if hit is None:
                hit = self._memo[key] = expected_arrival(base, rules, self.days(channel))
            return hit
        return expected_arrival(base, rules, self.days(channel))

    def grace(self, channel_id: int) -> timedelta:
        return timedelta(minutes=self.channels[channel_id].grace_minutes)


# --- requests ------------------------------------------------------------------------
def deadlines_recompute_request(
    *, reason: str, calendar_id: int | None = None, channel_id: int | None = None,
    since: datetime | None = None, detail: dict | None = None, now: datetime | None = None,
) -> DeadlineRecompute:
    """Record that deadlines of a calendar's (or a channel's) in-flight swipes may have
    moved. The caller's transaction commits it with the change itself; the beat task
    (or a doorbell from the caller) works it."""
    return DeadlineRecompute.objects.create(
        reason=reason, calendar_id=calendar_id if channel_id is None else None, channel_id=channel_id,
        since=since, detail=detail or {}, created_at=now or timezone.now(),
    )


def day_start(day: date, tz: str = "Asia/Shanghai") -> datetime:
    """The lower bound for a change on `day`: no deadline before that day can depend on it
    (a deadline is computed from the days up to its own due day)."""
    return datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=ZoneInfo(tz))


def _next_ids(request: DeadlineRecompute, channel_ids: list[int], limit: int) -> list[tuple[int, datetime]]:
    qs = Transaction.objects.filter(channel_id__in=channel_ids, status__in=_NON_FINAL)
    if request.since is not None:
        qs = qs.filter(overdue_at__gte=request.since)
    if request.phase == DeadlineRecompute.Phase.ON_TIME:
        # A row this request moved to a later overdue_at lies ahead of the cursor again:
        # its `rescheduled` event (one probe of event_unique_per_channel) says it is done.
        done = SettlementEvent.objects.filter(
            channel_id=OuterRef("channel_id"),
            event_id=Concat(Value("rescheduled:"), Cast(OuterRef("id"), CharField()), Value(f":q{request.pk}")),
        )
        qs = qs.filter(delayed_since__isnull=True).exclude(Exists(done))
        if request.cursor_overdue_at is not None:
            qs = qs.filter(
                Q(overdue_at__gt=request.cursor_overdue_at)
                | Q(overdue_at=request.cursor_overdue_at, id__gt=request.cursor_id)
            )
        return list(qs.order_by("overdue_at", "id").values_list("id", "overdue_at")[:limit])
    qs = qs.filter(delayed_since__isnull=False, id__gt=request.cursor_id)
    return list(qs.order_by("id").values_list("id", "overdue_at")[:limit])


def _lock_rows(ids: list[int]) -> list[Row]:
    """The batch's rows, locked in id order, re-read after the lock (still non-final)."""
    if not ids:
        return []
    qs = (Transaction.objects.select_for_update(of=("self",)).filter(id__in=ids, status__in=_NON_FINAL)
          .order_by("id").values_list(*_COLUMNS))
    return [Row(*values) for values in qs]


def recompute_batch(*, request_id: int, now: datetime | None = None, limit: int | None = None) -> BatchReport:
    """One bounded batch of a recompute request. Safe to run concurrently: the request row
    is claimed with SKIP LOCKED, so a second worker returns at once."""
    now = now or timezone.now()
    limit = limit or settings.DEADLINES_RECOMPUTE_BATCH_SIZE
    report = BatchReport()
    with db_transaction.atomic():
        request = (DeadlineRecompute.objects.select_for_update(skip_locked=True)
                   .filter(pk=request_id, done_at__isnull=True).first())
        if request is None:
            report.claimed = False
            return report
        channels = {c.id: c for c in (
            Channel.objects.filter(pk=request.channel_id) if request.channel_id
            else Channel.objects.filter(calendar_id=request.calendar_id)
        )}
        picked = _next_ids(request, list(channels), limit) if channels else []
        rows = _lock_rows([i for i, _ in picked])
        report = _apply(rows=rows, deadlines=Deadlines(channels), now=now,
                        why={"reason": request.reason, **request.detail}, event_key=f"q{request.pk}")
        report.looked_at = len(rows)
        request.batches += 1
        request.looked_at += len(rows)
        request.changed += report.changed
        if len(picked) == limit:
            last_id, last_overdue = picked[-1]
            request.cursor_id, request.cursor_overdue_at = last_id, last_overdue
        elif request.phase == DeadlineRecompute.Phase.ON_TIME:
            request.phase, request.cursor_id, request.cursor_overdue_at = DeadlineRecompute.Phase.LATE, 0, None
        else:
            request.phase, request.done_at = DeadlineRecompute.Phase.DONE, now
        request.save(update_fields=["batches", "looked_at", "changed", "cursor_id", "cursor_overdue_at",
                                    "phase", "done_at"])
        report.more = request.done_at is None
    return report


def recompute_pending(*, now: datetime | None = None, max_batches: int = 50) -> BatchReport:
    """Work the unfinished requests, oldest first, at most `max_batches` batches (the
    beat task and tests; the task re-enqueues itself while `more`)."""
    total = BatchReport()
    skip: set[int] = set()
    for _ in range(max_batches):
        pending = list(DeadlineRecompute.objects.filter(done_at__isnull=True).exclude(id__in=skip)
                       .order_by("created_at", "id").values_list("id", flat=True)[:1])
        if not pending:
            break
        batch = recompute_batch(request_id=pending[0], now=now)
        if not batch.claimed:
            skip.add(pending[0])  # another worker is on it
            continue
        total.looked_at += batch.looked_at
        total.changed += batch.changed
        total.unlated += batch.unlated
        total.notification_ids += batch.notification_ids
    total.more = DeadlineRecompute.objects.filter(done_at__isnull=True).exclude(id__in=skip).exists()
    return total


# --- re-payment ------------------------------------------------------------------------
def deadlines_on_events(*, txns: list[Transaction], known: dict, now: datetime) -> None:
    """events_apply's hook (same transaction, rows locked, `known` their lifecycle
    events): a swipe settled again after a return gets a new deadline from that
    re-settlement (read from the fold, so delivery order does not matter); a late swipe
    just returned gets its open case's cause re-suggested. No statements otherwise."""
    from settlement.services.cases import cases_resuggest_returned

    repaid = []
    for t in txns:
        if t.status != Status.SETTLED or t.settled_at is None or t.scheduled_from == t.settled_at:
            continue
        if any(e.type == EventType.RETURNED and e.occurred_at <= t.settled_at for e in known.get(t.id, ())):
            repaid.append((t, t.settled_at))
    ids = deadlines_on_repaid(repaid=repaid, now=now)
    if ids:
        from settlement.tasks import send_notification_emails

        db_transaction.on_commit(lambda: send_notification_emails.delay(ids))
    returned_late = [t for t in txns if t.status == Status.RETURNED and t.delayed_since is not None]
    if returned_late:
        cases_resuggest_returned(txn_ids=[t.id for t in returned_late], now=now)


def deadlines_on_repaid(*, repaid: list[tuple[Transaction, datetime]], now: datetime) -> list[int]:
    """Returned swipes that were settled again (events_apply, same transaction, rows
    already locked): a new deadline counted from the re-settlement. Returns notification
    ids. No statements when the batch has none."""
    if not repaid:
        return []
    channels = {c.id: c for c in Channel.objects.filter(id__in={t.channel_id for t, _ in repaid})}
    cycles = dict(Transaction.objects.filter(id__in=[t.id for t, _ in repaid])
                  .values_list("id", "merchant__settlement_cycle"))
    rows = [
        Row(t.id, t.channel_id, t.merchant_id, t.reference, t.amount, t.status, t.captured_at, at,
            t.business_date, t.expected_by, t.overdue_at, t.calendar_incomplete, t.delayed_since,
            t.at_risk_since, t.late_round, cycles[t.id])
        for t, at in repaid
    ]
    report = _apply(rows=rows, deadlines=Deadlines(channels), now=now, why={"reason": "repaid"},
                    event_key=f"p{now:%Y%m%d%H%M%S%f}", force_from=True,
                    case_outcome=FollowUpCase.Outcome.ACCOUNT_CORRECTED)
    for t, at in repaid:  # keep the caller's instances true to the row
        t.scheduled_from = at
    return report.notification_ids


# --- the shared step 4 -----------------------------------------------------------------
def _apply(*, rows: list[Row], deadlines: Deadlines, now: datetime, why: dict, event_key: str,
           force_from: bool = False, case_outcome: str = FollowUpCase.Outcome.RESCHEDULED) -> BatchReport:
    report = BatchReport()
    lead = timedelta(minutes=settings.DELAYS_AT_RISK_LEAD_MINUTES)
    changed: list[tuple[Row, dict]] = []
    for row in rows:
        base = row.scheduled_from or row.captured_at
        arrival = deadlines.arrival(row.channel_id, row.cycle, base)
        new = {
            "expected_by": arrival.expected_by,
            "overdue_at": arrival.expected_by + deadlines.grace(row.channel_id),
            "calendar_incomplete": arrival.calendar_incomplete,
            # The business date is the capture's (reconciliation files are per business
            # date): only a capture-based deadline recomputes it (a cut-off change).
            "business_date": arrival.business_date if row.scheduled_from is None and not force_from
            else row.business_date,
        }
        if all(getattr(row, k) == v for k, v in new.items()) and not force_from:
            continue
        late_after = row.delayed_since is not None and new["overdue_at"] <= now
        unlate = row.delayed_since is not None and not late_after
        at_risk = None
        if not late_after and not unlate and new["expected_by"] <= now + lead:
            at_risk = row.at_risk_since or now
        new.update(
            delayed_since=row.delayed_since if late_after else None,
            late_round=row.late_round + (1 if unlate else 0),
            at_risk_since=at_risk if not late_after else row.at_risk_since,
            scheduled_from=row.scheduled_from,
        )
        changed.append((row, new))
    if not changed:
        return report
    _update_rows(changed, now)
    _cases_follow([row.id for row, _ in changed])
    _insert_events(changed, now=now, why=why, event_key=event_key)
    unlated = [(row, new) for row, new in changed if row.delayed_since is not None and new["delayed_since"] is None]
    if unlated:
        _close_cases([row.id for row, _ in unlated], now=now, why=why, outcome=case_outcome)
    report.changed, report.unlated = len(changed), len(unlated)
    report.notification_ids = _notify(changed, now=now, why=why)
    return report


def _db(value: Any) -> Any:
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def _update_rows(changed: list[tuple[Row, dict]], now: datetime) -> None:
    """One UPDATE ... FROM (VALUES ...) on PostgreSQL; bulk_update on SQLite (make run)."""
    if connection.vendor != "postgresql":
        objs = []
        for row, new in changed:
            obj = Transaction(id=row.id, updated_at=now, **new)
            objs.append(obj)
        Transaction.objects.bulk_update(objs, list(_UPDATED))
        return
    fields = [Transaction._meta.get_field(name) for name in _UPDATED]
    qn = connection.ops.quote_name
    table = qn(Transaction._meta.db_table)
    one = "(%s" + ", %s" * len(fields) + ")"
    params: list[Any] = []
    for row, new in changed:
        params.append(row.id)
        params.extend(now if f.name == "updated_at" else new[f.name] for f in fields)
    assignments = ", ".join(f"{qn(f.column)} = v.{qn(f.column)}::{f.db_type(connection)}" for f in fields)
    sql = (f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([one] * len(changed))}) "
           f"AS v(id, {', '.join(qn(f.column) for f in fields)}) WHERE {table}.id = v.id")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


_EVENT_COLUMNS = ("channel_id", "transaction_id", "event_id", "type", "source", "outcome", "from_status",
                  "to_status", "occurred_at", "received_at", "payout_reference", "reason", "payload", "fingerprint")


def _insert_events(changed: list[tuple[Row, dict]], *, now: datetime, why: dict, event_key: str) -> None:
    """The `rescheduled` system events (old -> new and why) in each swipe's trail: one
    multi-row INSERT on PostgreSQL, bulk_create on SQLite (make run)."""
    rows = []
    reason = reason_text(why)[:300]
    for row, new in changed:
        payload = {
            **why,
            "old_expected_by": row.expected_by.astimezone(UTC).isoformat(),
            "new_expected_by": new["expected_by"].astimezone(UTC).isoformat(),
            "calendar_incomplete": new["calendar_incomplete"],
            "late_ended": row.delayed_since is not None and new["delayed_since"] is None,
        }
        rows.append((
            row.channel_id, row.id, f"rescheduled:{row.id}:{event_key}"[:100], EventType.RESCHEDULED,
            SettlementEvent.Source.SYSTEM, "applied", row.status, row.status, now, now, "", reason, payload, "",
        ))
    if connection.vendor != "postgresql":
        SettlementEvent.objects.bulk_create(
            [SettlementEvent(**dict(zip(_EVENT_COLUMNS, r, strict=True))) for r in rows], ignore_conflicts=True
        )
        return
    one = "(" + ", ".join(["%s"] * len(_EVENT_COLUMNS)) + ")"
    params: list[Any] = []
    for r in rows:
        params.extend(json.dumps(v) if i == 12 else _db(v) for i, v in enumerate(r))
    qn = connection.ops.quote_name
    sql = (f"INSERT INTO {qn(SettlementEvent._meta.db_table)} ({', '.join(qn(c) for c in _EVENT_COLUMNS)}) "
           f"VALUES {', '.join([one] * len(rows))} ON CONFLICT DO NOTHING")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def reason_text(why: dict) -> str:
    """A short, language-neutral reason stored with the event (rendered per reader)."""
    reason = why.get("reason", "")
    if reason == DeadlineRecompute.Reason.CALENDAR_DAY:
        return "calendar: " + ", ".join(f"{d} {k}" for d, k in why.get("days", [])[:5])
    if reason == DeadlineRecompute.Reason.CALENDAR_YEAR:
        return f"calendar: {why.get('year', '')} complete"
    if reason == DeadlineRecompute.Reason.CHANNEL_RULES:
        return "channel rules: " + ", ".join(why.get("fields", []))
    return reason


def _cases_follow(txn_ids: list[int]) -> None:
    """Open cases keep their copy of the swipe's due time (the queue sorts by it): one UPDATE."""
    due = Transaction.objects.filter(pk=OuterRef("transaction_id")).values("expected_by")[:1]
    FollowUpCase.objects.filter(transaction_id__in=txn_ids).exclude(status=FollowUpCase.Status.RESOLVED).update(
        due_at=Subquery(due))


def _close_cases(txn_ids: list[int], *, now: datetime, why: dict, outcome: str) -> None:
    """Open cases of swipes whose new deadline is in the future: resolved, two statements."""
    open_cases = list(FollowUpCase.objects.select_for_update()
                      .filter(transaction_id__in=txn_ids, status__in=_OPEN_CASE).values_list("id", flat=True))
    if not open_cases:
        return
    FollowUpCase.objects.filter(id__in=open_cases).update(
        status=FollowUpCase.Status.RESOLVED, resolved_at=now, last_action_at=now, outcome=outcome,
    )
    CaseEntry.objects.bulk_create([
        CaseEntry(case_id=case_id, kind=CaseEntry.Kind.RESOLVED, created_at=now, visible_to_merchant=True,
                  data={"outcome": outcome, "automatic": True, "reason": why.get("reason", "")})
        for case_id in open_cases
    ])


def _notify(changed: list[tuple[Row, dict]], *, now: datetime, why: dict) -> list[int]:
    """One message per merchant and batch: how many swipes, how much money, to which date."""
    per_merchant: dict[int, dict] = defaultdict(lambda: {"count": 0, "amount": Decimal("0"), "moves": {}})
    for row, new in changed:
        if new["expected_by"] == row.expected_by:
            continue  # only the incomplete flag or business date changed: nothing to tell
        summary = per_merchant[row.merchant_id]
        summary["count"] += 1
        summary["amount"] += row.amount
        key = new["expected_by"].astimezone(UTC).isoformat()
        move = summary["moves"].setdefault(key, [0, Decimal("0")])
        move[0] += 1
        move[1] += row.amount
        summary.setdefault("references", []).append(row.reference)
    items = []
    for merchant_id, summary in per_merchant.items():
        moves = sorted(summary["moves"].items())
        items.append((merchant_id, None, None, {
            "count": summary["count"],
            "amount": str(summary["amount"]),
            "moves": [[at, n, str(amount)] for at, (n, amount) in moves[:10]],
            "references": summary["references"][:5],
            "reference": summary["references"][0],
            "expected_by": moves[0][0],
            "reason": why.get("reason", ""),
            "reason_detail": reason_text(why),
        }))
    return notifications_create(kind=Notification.Kind.RESCHEDULED, items=items, now=now)
