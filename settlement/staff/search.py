"""Find anything in the staff queue: the `q` search box, saved views and sorting,
applied on top of selectors.case_queue's filters."""

from datetime import datetime

from django.db.models import Case, DateTimeField, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from merchants.models import Merchant
from settlement.models import FollowUpCase, Transaction
from settlement.staff.selectors import AGE_BUCKETS, age_bucket_filter

SAVED_VIEWS = ("mine", "unassigned", "escalated", "breached", "waiting_merchant", "waiting_acquirer", "promised")
# sort key -> order_by; "-" keys are the descending twins. Ties broken by id for stable pages.
_ESCALATED_FIRST = Case(When(status=FollowUpCase.Status.ESCALATED, then=Value(0)), default=Value(1),
                        output_field=IntegerField())
SORTS: dict[str, tuple] = {
    # Default: escalated first (missed promises and untouched cases), then SLA due, then money.
    "urgency": (_ESCALATED_FIRST, "sla_due_at", "-amount_at_stake", "id"),
    "days_late": ("arrival_at", "id"), "-days_late": ("-arrival_at", "-id"),
    "amount": ("amount_at_stake", "id"), "-amount": ("-amount_at_stake", "-id"),
    "sla": ("sla_due_at", "id"), "-sla": ("-sla_due_at", "-id"),
    "age": ("opened_at", "id"), "-age": ("-opened_at", "-id"),
}
DEFAULT_SORT = "urgency"
# A search matching at most this many cases is fetched as ids first (materialize_matches).
SEARCH_MATERIALIZE_MAX = 1000
NEEDS_ARRIVAL = {"days_late", "-days_late"}


def with_arrival(qs: QuerySet[FollowUpCase]) -> QuerySet[FollowUpCase]:
    """`arrival_at`: when the money was due (the case's copy of its swipe's expected
    arrival; the case's opening for cases without a swipe). Age buckets and days late
    count from it. No join: index case_open_by_due is on the same expression."""
    return qs.annotate(arrival_at=Coalesce(F("due_at"), F("opened_at"), output_field=DateTimeField()))


def queue_search(qs: QuerySet[FollowUpCase], q: str) -> QuerySet[FollowUpCase]:
    """Case number (part), swipe reference, merchant no (part), merchant name (part),
    and the card's last 4 digits. Swipes and merchants are matched in subqueries, not
    joins, so the case-side match stays on the case table (trigram indexes on PostgreSQL)."""
    q = q.strip()[:64]
    if not q:
        return qs
    merchants = Merchant.objects.filter(Q(merchant_no__icontains=q) | Q(name__icontains=q)).values("id")
    swipes = Transaction.objects.filter(reference=q)
    if q.isdigit() and len(q) == 4:
        # Only swipes that have a case: the swipe table is far bigger than the queue.
        swipes = Transaction.objects.filter(Q(reference=q) | Q(masked_pan__endswith=q), cases__in=qs.values("id"))
    # The hashed subquery lookups first: an OR stops at its first true arm, and UPPER(...)
    # LIKE is the dearest test per row (a broad "B000" matches every merchant).
    match = Q(merchant_id__in=merchants) | Q(transaction_id__in=swipes.values("id")) | Q(reference__icontains=q)
    return qs.filter(match)


def materialize_matches(qs: QuerySet[FollowUpCase]) -> QuerySet[FollowUpCase]:
    """A search's matches as a list of ids, when there are few of them (most searches:
    a reference, a case number, one merchant). The planner cannot estimate the search's
    OR across three tables (it guesses 75% of the queue), so it walked a sort index
    through all 10,000 cases for a page of two (26-34 ms against 8-13 ms, EXPLAIN
    ANALYZE under load), and the totals and the page each scanned the table. With the
    ids in hand: one scan, then primary-key lookups of known count. A broad search
    (more than SEARCH_MATERIALIZE_MAX matches, e.g. "B000") keeps the subquery, where
    walking the sort index is the right plan."""
    ids = list(qs.order_by().values_list("id", flat=True)[:SEARCH_MATERIALIZE_MAX + 1])
    if len(ids) > SEARCH_MATERIALIZE_MAX:
        return qs
    return FollowUpCase.objects.filter(id__in=ids)


def queue_view(qs: QuerySet[FollowUpCase], view: str, *, user, now: datetime) -> QuerySet[FollowUpCase]:
    if view == "mine":
        return qs.filter(assignee=user)
    if view == "unassigned":
        return qs.filter(assignee__isnull=True)
    if view == "escalated":
        return qs.filter(status=FollowUpCase.Status.ESCALATED)
    if view == "breached":  # a paused clock cannot breach
        return qs.filter(sla_due_at__lt=now, sla_paused_at__isnull=True).exclude(status=FollowUpCase.Status.RESOLVED)
    if view in ("waiting_merchant", "waiting_acquirer"):
        return qs.filter(status=view)
    if view == "promised":  # a new arrival promised to the merchant
        return qs.filter(new_expected_by__isnull=False)
    return qs


def queue_sort(qs: QuerySet[FollowUpCase], sort: str) -> QuerySet[FollowUpCase]:
    if sort in NEEDS_ARRIVAL and "arrival_at" not in qs.query.annotations:
        qs = with_arrival(qs)
    return qs.order_by(*SORTS.get(sort, SORTS[DEFAULT_SORT]))


def queue_age(qs: QuerySet[FollowUpCase], age: str, *, now: datetime) -> QuerySet[FollowUpCase]:
    """Whole days since the money was due (with_arrival's arrival_at), not since the
    case opened: a 9-day-late swipe sits in 8-30 whenever its case was opened."""
    if age not in AGE_BUCKETS:
        return qs
    return age_bucket_filter(with_arrival(qs), "arrival_at", age, now=now)
