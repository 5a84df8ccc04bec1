"""The late scan (DESIGN.md "Delay detection and follow-up").

Like healthchecks' `sendalerts`: the deadline is stored on the row (`overdue_at`), the
rows still to look at are exactly those in the partial index `txn_overdue_unflagged`
(non-final, not yet flagged), and flagging is a conditional UPDATE that takes a
bounded batch by index order. On PostgreSQL the batch is claimed with
`FOR UPDATE SKIP LOCKED`, so two scanners never wait on or flag the same row; the
`delayed_since IS NULL` re-check in the UPDATE and the unique constraints on events
(`delayed:<txn id>[:<late round>]`), cases (`case_one_open_per_txn`) and notifications
(`notification_once_per_txn_state`) make a repeat harmless even without it.

A batch costs a constant number of statements whatever its size: claim, channels,
payouts (only if any), events, open incidents, recent counts, [new incidents],
cases, entries, notifications.
"""

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db import transaction as db_transaction
from django.db.models import Count
from django.utils import timezone

from channels.business_days import BusinessDays, first_business_day
from channels.holiday_names import day_off_name
from channels.models import Channel
from channels.selectors import business_days_for
from config import metrics
from settlement.bulk_sql import rows_insert
from settlement.lifecycle import FINAL_STATUSES, NON_FINAL_STATUSES, EventType
from settlement.models import (
    CaseEntry,
    ChannelIncident,
    FollowUpCase,
    PayoutDiscrepancy,
    SettlementEvent,
    Transaction,
)
from settlement.models.cases import Cause
from settlement.services.causes import CauseFacts, cause_suggest, holidays_in_window
from settlement.services.notifications import notifications_create

log = logging.getLogger(__name__)

# Literal, so PostgreSQL can prove the partial indexes' predicates from the WHERE.
_NON_FINAL_SQL = ", ".join(f"'{s}'" for s in sorted(NON_FINAL_STATUSES))
_LATE_WHERE = f"status IN ({_NON_FINAL_SQL}) AND delayed_since IS NULL AND overdue_at <= %s"
_RETURNED = (
    "id", "channel_id", "merchant_id", "reference", "amount", "status", "business_date",
    "expected_by", "overdue_at", "payout_id", "calendar_incomplete", "late_round", "masked_pan",
)


@dataclass(frozen=True)
class LateRow:
    id: int
    channel_id: int
    merchant_id: int
    reference: str
    amount: Decimal
    status: str
    business_date: date
    expected_by: datetime
    overdue_at: datetime
    payout_id: int | None
    calendar_incomplete: bool
    late_round: int = 0  # > 0: late again after a reschedule; its ids carry the round
    masked_pan: str = ""  # its last 4 digits go on the case (FollowUpCase.card_last4)


@dataclass
class FlagReport:
    flagged: int = 0
    cases_opened: int = 0
    notifications: int = 0
    incidents_opened: int = 0
    batches: int = 0
    more: bool = False  # stopped at max_batches with the last batch full
    notification_ids: list[int] = field(default_factory=list)

    def add(self, other: "FlagReport") -> None:
        self.flagged += other.flagged
        self.cases_opened += other.cases_opened
        self.notifications += other.notifications
        self.incidents_opened += other.incidents_opened
        self.batches += other.batches
        self.notification_ids += other.notification_ids


def _db_dt(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _row_from_text(row: LateRow) -> LateRow:
    """SQLite hands back text and floats from raw SQL; PostgreSQL rows need nothing."""
    expected_by, overdue_at = (
        (datetime.fromisoformat(v) if isinstance(v, str) else v) for v in (row.expected_by, row.overdue_at)
    )
    return replace(
        row,
        expected_by=expected_by if expected_by.tzinfo else expected_by.replace(tzinfo=UTC),
        overdue_at=overdue_at if overdue_at.tzinfo else overdue_at.replace(tzinfo=UTC),
        business_date=date.fromisoformat(row.business_date) if isinstance(row.business_date, str)
        else row.business_date,
        amount=Decimal(str(row.amount)).quantize(Decimal("0.01")),
        calendar_incomplete=bool(row.calendar_incomplete),
    )


def _claim_late(*, now: datetime, limit: int) -> list[LateRow]:
    """Flag up to `limit` late rows, oldest deadline first; each row once."""
    table = Transaction._meta.db_table
    if connection.vendor == "postgresql":
        # MATERIALIZED: the batch is chosen exactly once. As a plain `IN (subquery)` the
        # planner may re-run the subquery per outer row, and with SKIP LOCKED and LIMIT
        # a re-run can pick other rows, so one batch could grow past its bound.
        returned = ", ".join(f"t.{c}" for c in _RETURNED)
        sql = (
            f"WITH due AS MATERIALIZED (SELECT id FROM {table} WHERE {_LATE_WHERE} "
            f"ORDER BY overdue_at LIMIT %s FOR UPDATE SKIP LOCKED) "
            f"UPDATE {table} AS t SET delayed_since = %s, updated_at = %s FROM due "
            f"WHERE t.id = due.id AND t.delayed_since IS NULL RETURNING {returned}"
        )
        params = [_db_dt(now), limit, _db_dt(now), _db_dt(now)]
    else:  # SQLite (make run): one writer at a time, so no locking clause to add
        sql = (
            f"UPDATE {table} SET delayed_since = %s, updated_at = %s WHERE id IN ("
            f"SELECT id FROM {table} WHERE {_LATE_WHERE} ORDER BY overdue_at LIMIT %s) "
            f"AND delayed_since IS NULL RETURNING {', '.join(_RETURNED)}"
        )
        params = [_db_dt(now), _db_dt(now), _db_dt(now), limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = [LateRow(*r) for r in cursor.fetchall()]
    return rows if connection.vendor == "postgresql" else [_row_from_text(r) for r in rows]


def late_probe_sql() -> tuple[str, list]:
    """The late scan's read, for EXPLAIN in tests and the benchmark."""
    table = Transaction._meta.db_table
    return f"SELECT id FROM {table} WHERE {_LATE_WHERE} ORDER BY overdue_at LIMIT %s", []


def delays_preview(*, now: datetime | None = None, limit: int = 50) -> tuple[int, list[Transaction]]:
    """What a scan at `now` would flag: the count and the first rows. Changes nothing."""
    now = now or timezone.now()
    late = Transaction.objects.filter(
        status__in=list(NON_FINAL_STATUSES), delayed_since__isnull=True, overdue_at__lte=now
    )
    rows = list(late.select_related("merchant", "channel").order_by("overdue_at")[:limit])
    return late.count(), rows


def case_sla_due(*, days: BusinessDays, opened_at: datetime, tz: ZoneInfo, business_days: int) -> datetime:
    """The same clock time `business_days` business days after opening, on the
    channel's calendar (a case opened on Friday or before a holiday gets the time)."""
    local = opened_at.astimezone(tz)
    day = local.date()
    for _ in range(max(business_days, 0)):
        day = first_business_day(days, day + timedelta(days=1)).day
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=tz)


def new_estimate(*, channel: Channel, days: BusinessDays, now: datetime) -> datetime:
    """What we tell the merchant now: the next business day's arrival-by time."""
    tz = ZoneInfo(channel.timezone)
    day = first_business_day(days, now.astimezone(tz).date() + timedelta(days=1)).day
    return datetime.combine(day, channel.arrival_by_time, tzinfo=tz)


def case_reference_prefix(now: datetime) -> str:
    # Case references are prefix + the swipe's id (L = found late by the scan). One open
    # case per swipe makes the id unique among open cases; the month keeps a later
    # re-detection of the same swipe distinct.
    return f"L{now:%y%m}-"


def _ids_in(ids: list[int]) -> tuple[str, list]:
    """`IN` for a list of ids: one array parameter on PostgreSQL, a list elsewhere."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", [ids]
    return "IN (" + ", ".join(["%s"] * len(ids)) + ")", ids


def _json_object() -> str:
    return "jsonb_build_object" if connection.vendor == "postgresql" else "json_object"


@db_transaction.atomic
def _flag_batch(*, now: datetime, limit: int) -> FlagReport:
    rows = _claim_late(now=now, limit=limit)
    report = FlagReport(flagged=len(rows), batches=1)
    if not rows:
        return report
    channels = {c.id: c for c in Channel.objects.filter(id__in={r.channel_id for r in rows})}
    payout_ids = {r.payout_id for r in rows if r.payout_id}
    # The payout door stores discrepancies; the scan reads them, it never recomputes one.
    payouts = (
        {d["payout_id"]: d for d in PayoutDiscrepancy.objects.filter(payout_id__in=payout_ids, resolved_at__isnull=True)
         .values("payout_id", "payout__reference", "amount", "expected", "difference")}
        if payout_ids else {}
    )

    # The system event: no status change, deterministic id so a repeat collides.
    ids_sql, ids_params = _ids_in([r.id for r in rows])
    txn_table = Transaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {SettlementEvent._meta.db_table} (channel_id, transaction_id, event_id, type, source, "
            "outcome, from_status, to_status, occurred_at, received_at, payout_reference, reason, payload, fingerprint) "
            f"SELECT channel_id, id, 'delayed:' || id || CASE WHEN late_round > 0 THEN ':' || late_round ELSE '' END, "
            "%s, %s, %s, status, status, overdue_at, %s, '', '', "
            f"{_json_object()}('expected_by', expected_by, 'overdue_at', overdue_at), '' "
            f"FROM {txn_table} WHERE id {ids_sql} ON CONFLICT DO NOTHING",
            [EventType.DELAYED, SettlementEvent.Source.SYSTEM, "applied", _db_dt(now), *ids_params],
        )

    incidents, recent, report.incidents_opened = _incidents_for(rows=rows, channels=channels, now=now)
    per_channel = Counter(r.channel_id for r in rows)

    threshold = settings.DELAYS_INCIDENT_THRESHOLD
    per_channel_ctx: dict[int, tuple] = {}
    estimate: dict[int, datetime] = {}
    for channel_id, channel in channels.items():
        days = business_days_for(channel.calendar_id)
        tz = ZoneInfo(channel.timezone)
        sla = case_sla_due(days=days, opened_at=now, tz=tz, business_days=settings.DELAYS_CASE_SLA_BUSINESS_DAYS)
        estimate[channel_id] = new_estimate(channel=channel, days=days, now=now)
        per_channel_ctx[channel_id] = (channel, days, tz, sla)
    case_rows = []
    reference_prefix = case_reference_prefix(now)
    for r in rows:
        channel, days, tz, sla = per_channel_ctx[r.channel_id]
        payout = payouts.get(r.payout_id) if r.payout_id else None
        suggestion = cause_suggest(CauseFacts(
            status=r.status,
            channel_health=channel.health,
            poll_failures=channel.consecutive_poll_failures,
            last_poll_error=channel.last_poll_error,
            holidays=holidays_in_window(days, business_date=r.business_date, expected_by=r.expected_by, tz=tz),
            burst=per_channel[r.channel_id] + recent.get(r.channel_id, 0),
            burst_threshold=threshold,
            payout_reference=payout["payout__reference"] if payout else "",
            payout_amount=payout["amount"] if payout else None,
            payout_net_sum=payout["expected"] if payout else None,
            payout_discrepancy=payout["difference"] if payout else None,
            calendar_incomplete=r.calendar_incomplete,
            outage_failures=settings.DELAYS_POLL_FAILURES_OUTAGE,
        ))
        case_rows.append([
            f"{reference_prefix}{r.id:06d}{f'-{r.late_round}' if r.late_round else ''}", r.id, r.merchant_id, r.channel_id, incidents.get(r.channel_id),
            FollowUpCase.Status.OPEN, FollowUpCase.Origin.DETECTED, suggestion.cause,
            suggestion.evidence, r.amount, now, sla, now, "", r.expected_by, r.masked_pan[-4:],
        ])
    # One array per column (settlement.bulk_sql): a VALUES list of 1,000 x 15 literals
    # was the scan's dearest statement (71 of 266 ms, bench.delays profile).
    opened = rows_insert(
        FollowUpCase,
        ["reference", "transaction_id", "merchant_id", "channel_id", "incident_id", "status", "origin", "cause",
         "cause_evidence", "amount_at_stake", "opened_at", "sla_due_at", "last_action_at", "outcome", "due_at",
         "card_last4"],
        case_rows,
        # Against case_one_open_per_txn: a swipe with an open case (another scanner's,
        # or a merchant inquiry) keeps that one.
        on_conflict="ON CONFLICT (transaction_id) WHERE transaction_id IS NOT NULL AND NOT (status = 'resolved') "
        "DO NOTHING",
        returning=["id", "transaction_id", "reference"],
    )
    report.cases_opened = len(opened)
    if opened:
        ids_sql, ids_params = _ids_in([case_id for case_id, _txn, _ref in opened])
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {CaseEntry._meta.db_table} (case_id, kind, body, contact_party, contact_reference, "
                "data, visible_to_merchant, created_at) "
                f"SELECT id, %s, '', '', '', {_json_object()}('cause', cause, 'origin', origin), %s, %s "
                f"FROM {FollowUpCase._meta.db_table} WHERE id {ids_sql}",
                [CaseEntry.Kind.OPENED, False, _db_dt(now), *ids_params],
            )
    case_of = {txn_id: (case_id, ref) for case_id, txn_id, ref in opened}
    by_id = {r.id: r for r in rows}
    report.notification_ids = notifications_create(
        kind="late",
        items=[
            (r.merchant_id, r.id, case_of.get(r.id, (None, ""))[0], {
                "reference": r.reference,
                "amount": str(r.amount),
                "expected_by": r.expected_by.isoformat(),
                "new_estimate": estimate[r.channel_id].isoformat(),
                "case_reference": case_of.get(r.id, (None, ""))[1],
            })
            for r in by_id.values()
        ],
        now=now,
        late_rounds={r.id: r.late_round for r in rows if r.late_round},
    )
    report.notifications = len(report.notification_ids)
    return report


def _incidents_for(*, rows: list[LateRow], channels: dict[int, Channel], now: datetime):
    """Open incident id per channel (existing or new), recent late counts per channel,
    and how many incidents this batch opened."""
    per_channel = Counter(r.channel_id for r in rows)
    window_start = now - timedelta(minutes=settings.DELAYS_INCIDENT_WINDOW_MINUTES)
    incidents = dict(
        ChannelIncident.objects.filter(status=ChannelIncident.Status.OPEN, channel_id__in=per_channel)
        .values_list("channel_id", "id")
    )
    recent = dict(
        FollowUpCase.objects.filter(
            channel_id__in=per_channel, origin=FollowUpCase.Origin.DETECTED, opened_at__gte=window_start
        )
        .exclude(status=FollowUpCase.Status.RESOLVED)
        .values("channel_id").annotate(n=Count("id")).order_by().values_list("channel_id", "n")
    )
    # Sorted: two scanners inserting incidents for the same channels in different orders
    # each waited on the other's uncommitted row (a deadlock, seen in bench.delays).
    wanted = sorted(
        c for c in per_channel
        if c not in incidents and per_channel[c] + recent.get(c, 0) >= settings.DELAYS_INCIDENT_THRESHOLD
    )
    if not wanted:
        return incidents, recent, 0
    earliest = {}
    for r in rows:
        if r.channel_id in wanted and (r.channel_id not in earliest or r.overdue_at < earliest[r.channel_id]):
            earliest[r.channel_id] = r.overdue_at
    created = rows_insert(
        ChannelIncident,
        ["channel_id", "status", "cause", "opened_at", "window_start", "note"],
        [
            [c, ChannelIncident.Status.OPEN,
             Cause.CHANNEL_OUTAGE if channels[c].health != Channel.Health.UP else Cause.HOLIDAY_BACKLOG,
             now, earliest[c], ""]
            for c in wanted
        ],
        # Against incident_one_open_per_channel: a concurrent scanner's incident wins.
        on_conflict="ON CONFLICT (channel_id) WHERE status = 'open' DO NOTHING",
        returning=["id", "channel_id"],
    )
    incidents.update(
        ChannelIncident.objects.filter(status=ChannelIncident.Status.OPEN, channel_id__in=wanted)
        .values_list("channel_id", "id")
    )
    # The swipes found late earlier in the window join the new incident too.
    for channel_id in wanted:
        FollowUpCase.objects.filter(
            channel_id=channel_id, origin=FollowUpCase.Origin.DETECTED, incident__isnull=True,
            opened_at__gte=window_start,
        ).exclude(status=FollowUpCase.Status.RESOLVED).update(incident_id=incidents[channel_id])
    return incidents, recent, len(created)


def delays_flag(
    *, now: datetime | None = None, batch_size: int | None = None, max_batches: int = 1000,
    on_full_batch: Callable[[], None] | None = None,
) -> FlagReport:
    """Flag every late swipe (up to max_batches x batch_size), open its case, tell its
    merchant. Emails go out after commit through a task that takes the notification ids.
    `on_full_batch` is called once if the first batch was full: the task uses it to
    bring another worker in (SKIP LOCKED lets scanners share a backlog)."""
    from settlement.tasks import send_notification_emails

    now = now or timezone.now()
    batch_size = batch_size or settings.DELAYS_BATCH_SIZE
    report = FlagReport()
    for number in range(max_batches):
        batch = _flag_batch(now=now, limit=batch_size)
        report.add(batch)
        if batch.flagged:
            db_transaction.on_commit(lambda n=batch.flagged: metrics.LATE_OPENED.inc(n))
        if batch.notification_ids:
            ids = batch.notification_ids
            db_transaction.on_commit(lambda ids=ids: send_notification_emails.delay(ids), robust=True)
        if batch.flagged < batch_size:
            break
        report.more = number == max_batches - 1
        if number == 0 and on_full_batch is not None:
            on_full_batch()
    if report.flagged:
        log.info("flagged %s late swipes, opened %s cases", report.flagged, report.cases_opened)
    return report


def delays_mark_at_risk(*, now: datetime | None = None, limit: int = 10000) -> int:
    """The early warning: non-final swipes due within the lead time (or past due but
    still inside the grace). One conditional UPDATE over txn_expected_unwarned."""
    now = now or timezone.now()
    horizon = now + timedelta(minutes=settings.DELAYS_AT_RISK_LEAD_MINUTES)
    table = Transaction._meta.db_table
    sql = (
        f"UPDATE {table} SET at_risk_since = %s WHERE id IN ("
        f"SELECT id FROM {table} WHERE status IN ({_NON_FINAL_SQL}) AND at_risk_since IS NULL "
        f"AND delayed_since IS NULL AND expected_by <= %s ORDER BY expected_by LIMIT %s) "
        f"AND at_risk_since IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_db_dt(now), _db_dt(horizon), limit])
        return cursor.rowcount


def delays_on_final(*, txns: list[Transaction], now: datetime) -> None:
    """Called by events_apply (same transaction) with the rows it changed: a flagged
    swipe that became final closes its open case with the delay recorded, and a
    credited one tells the merchant it arrived. No statements when none qualify."""
    done = [t for t in txns if t.delayed_since is not None and t.status in FINAL_STATUSES]
    if not done:
        return
    from settlement.services.cases import cases_close_arrived

    notification_ids = cases_close_arrived(txns=done, now=now)
    db_transaction.on_commit(lambda: metrics.LATE_CLOSED.inc(len(done)))
    if notification_ids:
        from settlement.tasks import send_notification_emails

        db_transaction.on_commit(lambda: send_notification_emails.delay(notification_ids), robust=True)


def arrival_explained(txn: Transaction) -> dict:
    """How a swipe's expected arrival was computed, for the case page."""
    from settlement.services.schedule import arrival_for

    channel = txn.channel
    days = business_days_for(channel.calendar_id)
    arrival = arrival_for(channel=channel, cycle=txn.merchant.settlement_cycle, captured_at=txn.captured_at, days=days)
    return {
        "cycle": txn.merchant.get_settlement_cycle_display(),
        "cutoff": channel.cutoff_time,
        "arrival_by": channel.arrival_by_time,
        "grace_minutes": channel.grace_minutes,
        "business_date": arrival.business_date,
        "settle_day": arrival.settle_day,
        "expected_by": arrival.expected_by,
        "calendar_incomplete": arrival.calendar_incomplete,
        "skipped": [(d, day_off_name(days.name_of(d), d)) for d in arrival.skipped],
        "after_cutoff": arrival.business_date != txn.captured_at.astimezone(ZoneInfo(channel.timezone)).date(),
    }

