"""Reads for the staff pages: the queue (open cases by urgency) and one case."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from settlement.models import ChannelIncident, FollowUpCase, SettlementEvent

# Age of a case in whole days since it opened: label -> (min days, max days or None).
AGE_BUCKETS: dict[str, tuple[int, int | None]] = {"0-1": (0, 1), "2-7": (2, 7), "8-30": (8, 30), "30+": (31, None)}


def age_bucket_filter(qs: QuerySet, field: str, age: str, *, now: datetime) -> QuerySet:
    """The rows whose `field` lies in age bucket `age` (whole days before now, both ends
    included); every row for an unknown bucket. The staff queue, its search and the
    reconciliation breaks page share it."""
    if age not in AGE_BUCKETS:
        return qs
    low, high = AGE_BUCKETS[age]
    qs = qs.filter(**{f"{field}__lte": now - timedelta(days=low)})
    if high is not None:
        qs = qs.filter(**{f"{field}__gt": now - timedelta(days=high + 1)})
    return qs


@dataclass(frozen=True)
class QueueFilters:
    channel: str = ""  # channel code
    cause: str = ""
    merchant: str = ""  # merchant_no
    age: str = ""  # a key of AGE_BUCKETS
    status: str = ""  # "" = every unresolved status
    incident: int | None = None


def case_queue(*, filters: QueueFilters, now: datetime | None = None) -> QuerySet[FollowUpCase]:
    """Cases matching the filters, most urgent first: escalated ones, then SLA due time,
    then the money at stake, then the oldest."""
    now = now or timezone.now()
    qs = FollowUpCase.objects.all()
    if filters.status:
        qs = qs.filter(status=filters.status)
    else:
        qs = qs.exclude(status=FollowUpCase.Status.RESOLVED)
    if filters.channel:
        qs = qs.filter(channel__code=filters.channel)
    if filters.cause:
        qs = qs.filter(cause=filters.cause)
    if filters.merchant:
        qs = qs.filter(merchant__merchant_no=filters.merchant)
    if filters.incident:
        qs = qs.filter(incident_id=filters.incident)
    qs = age_bucket_filter(qs, "opened_at", filters.age, now=now)
    # Escalated cases first (they are escalated because they need it), then SLA, money.
    escalated_first = Case(When(status=FollowUpCase.Status.ESCALATED, then=Value(0)), default=Value(1),
                           output_field=IntegerField())
    return qs.order_by(escalated_first, "sla_due_at", "-amount_at_stake", "opened_at", "id")


def queue_totals(qs: QuerySet[FollowUpCase], *, listed_only: Q | None = None) -> dict:
    """Count and money of the cases; `listed`: how many of them match listed_only too."""
    # COUNT(*), not COUNT(id): the covering index case_open_totals answers without the rows.
    listed = Count(Value(1), filter=listed_only) if listed_only is not None else Count("*")
    totals = qs.order_by().aggregate(count=Count("*"), amount=Sum("amount_at_stake"), listed=listed)
    return {"count": totals["count"], "amount": totals["amount"] or Decimal("0"), "listed": totals["listed"]}


def open_incidents() -> list[ChannelIncident]:
    """One row per open channel incident, with how many unresolved cases and how much
    money it holds (`n`, `amount`). The counts are a second query, run only when an
    incident is open: most pages have none, and the annotated join cost more to build
    than to run."""
    incidents = list(ChannelIncident.objects.filter(status=ChannelIncident.Status.OPEN).select_related("channel")
                     .order_by("opened_at"))
    if incidents:
        counts = {row["incident_id"]: row for row in FollowUpCase.objects.filter(incident__in=incidents)
                  .exclude(status=FollowUpCase.Status.RESOLVED).order_by()
                  .values("incident_id").annotate(n=Count("id"), amount=Sum("amount_at_stake"))}
        for incident in incidents:
            row = counts.get(incident.pk, {})
            incident.n, incident.amount = row.get("n", 0), row.get("amount")
    return incidents


def case_detail(case_id: int) -> FollowUpCase:
    return FollowUpCase.objects.select_related(
        "transaction", "transaction__terminal", "transaction__payout", "merchant", "channel", "assignee", "incident",
        "resolved_by", "new_expected_set_by",
    ).get(pk=case_id)


def case_timeline(case: FollowUpCase) -> list[SettlementEvent]:
    if not case.transaction_id:
        return []
    return list(SettlementEvent.objects.filter(transaction_id=case.transaction_id).select_related("recorded_by")
                .order_by("occurred_at", "id"))


def queue_channels(*, today: date) -> list:
    """Every channel, once per queue page: the channel filter, the poll-apply banner, the
    at-risk horizon (the largest grace) and, from 1 November, the calendar banner
    (channels.selectors.calendars_missing_among) all read this one small list."""
    from channels.models import Channel
    from channels.selectors import with_next_year_complete

    return list(with_next_year_complete(
        Channel.objects.select_related("calendar")
        .only("id", "code", "name", "grace_minutes", "poll_apply_error", "poll_apply_error_at", "calendar__code",
              "calendar__name")
        .order_by("code"), today=today))


def at_risk_swipes(*, channels: list, now: datetime | None = None, limit: int = 10) -> tuple[dict, list]:
    """Swipes marked at risk and not late yet: the early warning. Their overdue_at lies
    within lead + grace (the largest of `channels`, queue_channels) from now, so this is
    a short range of txn_overdue_unflagged. One query: the totals ride on the rows as
    window aggregates (computed before the LIMIT, so they count every match). Rows are
    dicts with the columns shown; the channel code comes from `channels`, not a join."""
    from django.conf import settings
    from django.db.models import Window

    from settlement.lifecycle import NON_FINAL_STATUSES
    from settlement.models import Transaction

    now = now or timezone.now()
    grace = max((c.grace_minutes for c in channels), default=0)
    horizon = now + timedelta(minutes=settings.DELAYS_AT_RISK_LEAD_MINUTES + grace)
    rows = list(
        Transaction.objects.filter(status__in=list(NON_FINAL_STATUSES), delayed_since__isnull=True,
                                   overdue_at__lte=horizon, at_risk_since__isnull=False)
        .annotate(risk_n=Window(Count("id")), risk_amount=Window(Sum("amount")))
        .order_by("overdue_at", "id")
        .values("reference", "amount", "status", "overdue_at", "channel_id", "merchant__name", "risk_n",
                "risk_amount")[:limit])
    if not rows:
        return {"count": 0, "amount": Decimal("0")}, []
    codes = {c.id: c.code for c in channels}
    labels = dict(Transaction.Status.choices)
    for row in rows:
        row["channel_code"] = codes.get(row["channel_id"], "")
        row["status_label"] = labels.get(row["status"], row["status"])
    return {"count": rows[0]["risk_n"], "amount": rows[0]["risk_amount"] or Decimal("0")}, rows


@dataclass(frozen=True)
class PollApplyProblem:
    code: str
    name: str
    error: str
    since: datetime
    stopped: int  # rows no longer polled (POLL_MAX_APPLY_FAILURES reached)


def poll_apply_problems(channels: list | None = None) -> list[PollApplyProblem]:
    """Channels whose poll answers failed to apply (our side, not the acquirer's): the
    staff queue's banner. One query on the small channel table (none when the caller
    passes every channel, queue_channels), plus one count over the tiny
    txn_poll_apply_failing index only when there is a problem."""
    from django.conf import settings

    from channels.models import Channel
    from settlement.models import Transaction

    if channels is None:
        channels = list(Channel.objects.exclude(poll_apply_error="").order_by("code"))
    channels = [c for c in channels if c.poll_apply_error]
    if not channels:
        return []
    stopped = dict(
        Transaction.objects.filter(channel__in=channels, poll_apply_failures__gte=settings.POLL_MAX_APPLY_FAILURES,
                                   next_poll_at__isnull=True)
        .values("channel_id").annotate(n=Count("id")).order_by().values_list("channel_id", "n")
    )
    return [PollApplyProblem(c.code, c.name, c.poll_apply_error, c.poll_apply_error_at, stopped.get(c.id, 0))
            for c in channels]
