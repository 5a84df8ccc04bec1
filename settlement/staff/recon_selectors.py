"""Reads for the staff reconciliation pages: breaks with filters and totals, recent runs."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, Q, QuerySet, Sum

from settlement.models import BreakKind, ReconciliationBreak, ReconciliationRun
from settlement.staff.selectors import AGE_BUCKETS, age_bucket_filter

# AGE_BUCKETS: the staff queue's, here in whole days since a break was first seen.
__all__ = ["AGE_BUCKETS", "STATE_CHOICES", "BreakFilters", "age_days", "breaks_find", "breaks_totals", "runs_recent"]
STATE_CHOICES = ("open", "resolved", "auto", "staff", "all")


@dataclass(frozen=True)
class BreakFilters:
    channel: str = ""
    date_from: date | None = None
    date_to: date | None = None
    kind: str = ""
    age: str = ""
    merchant: str = ""
    state: str = "open"


def breaks_find(*, filters: BreakFilters, now: datetime) -> QuerySet:
    qs = ReconciliationBreak.objects.all()
    if filters.channel:
        qs = qs.filter(channel__code=filters.channel)
    if filters.date_from:
        qs = qs.filter(business_date__gte=filters.date_from)
    if filters.date_to:
        qs = qs.filter(business_date__lte=filters.date_to)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.merchant:
        qs = qs.filter(Q(merchant_no__iexact=filters.merchant) | Q(merchant__name__icontains=filters.merchant))
    qs = age_bucket_filter(qs, "first_seen_at", filters.age, now=now)
    state = filters.state or "open"
    if state == "open":
        qs = qs.filter(status__in=ReconciliationBreak.OPEN_STATUSES)
    elif state == "resolved":
        qs = qs.filter(status=ReconciliationBreak.Status.RESOLVED)
    elif state in ("auto", "staff"):
        qs = qs.filter(status=ReconciliationBreak.Status.RESOLVED, resolution=state)
    return qs.order_by("first_seen_at", "id")


def breaks_totals(breaks: QuerySet) -> dict:
    """Count and money over the filtered breaks, overall and per kind (one query)."""
    rows = list(breaks.order_by().values("kind").annotate(n=Count("id"), amount=Sum("amount"),
                                                          difference=Sum("difference")))
    return {
        "count": sum(r["n"] for r in rows),
        "amount": sum((r["amount"] or 0 for r in rows), 0),
        "difference": sum((r["difference"] or 0 for r in rows), 0),
        "by_kind": sorted(({**r, "label": BreakKind(r["kind"]).label} for r in rows), key=lambda r: -r["n"]),
    }


def age_days(brk: ReconciliationBreak, now: datetime) -> int:
    end = brk.resolved_at or now
    return max(0, (end - brk.first_seen_at).days)


def runs_recent(*, limit: int = 10) -> QuerySet:
    return ReconciliationRun.objects.select_related("channel", "file").order_by("-started_at")[:limit]
