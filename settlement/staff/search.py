"""Find anything in the staff queue: the `q` search box, saved views and sorting,
applied on top of selectors.case_queue's filters."""

import operator
from datetime import datetime
from functools import reduce

from django.db.models import Case, DateTimeField, F, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce

from channels.models import Channel
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
# A search matching at most this many cases is fetched as ids first (queue_search).
SEARCH_MATERIALIZE_MAX = 1000
NEEDS_ARRIVAL = {"days_late", "-days_late"}


def with_arrival(qs: QuerySet[FollowUpCase]) -> QuerySet[FollowUpCase]:
    """`arrival_at`: when the money was due (the case's copy of its swipe's expected
    arrival; the case's opening for cases without a swipe). Age buckets and days late
    count from it. No join: index case_open_by_due is on the same expression."""
    return qs.annotate(arrival_at=Coalesce(F("due_at"), F("opened_at"), output_field=DateTimeField()))


def _search_arms(q: str) -> list[Q]:
    """What `q` matches, one condition per way of matching: merchant no or name (part),
    swipe reference, case number (part), the card's last 4 digits. Swipes and merchants
    are subqueries, not joins, so each condition stays on the case table. Their order is
    the OR's of a broad search: the hashed subqueries first (an OR stops at its first true
    arm), UPPER(...) LIKE, the dearest test per row, after them."""
    merchants = Merchant.objects.filter(Q(merchant_no__icontains=q) | Q(name__icontains=q)).values("id")
    # A reference is unique per channel (txn_unique_reference leads with the channel):
    # naming every channel lets the index find it in one probe per channel. Without the
    # channel the planner walked the whole index (6.6 ms at 210,000 swipes, and growing).
    swipes = Transaction.objects.filter(channel__in=Channel.objects.values("id"), reference=q).values("id")
    arms = [Q(merchant_id__in=merchants), Q(transaction_id__in=swipes), Q(reference__icontains=q)]
    if q.isdigit() and len(q) == 4:
        arms.append(Q(card_last4=q))  # the case's copy: the swipe table is far bigger than the queue
    return arms


def queue_search(qs: QuerySet[FollowUpCase], q: str) -> QuerySet[FollowUpCase]:
    """The cases of `qs` that `q` matches (_search_arms).

    Most searches (a reference, a case number, one merchant) match few cases: their ids
    are fetched first, one UNION ALL of the arms, each arm on its own index (merchant_id,
    transaction_id, the trigram index on the case number, card_last4), and the totals
    and page are then primary-key lookups. As one OR the planner could use none of them: it scanned
    every open case and tested UPPER(reference) LIKE on each (6-9 ms at 10,000 cases),
    and, guessing 75% of the queue matched, walked a sort index through all of them for a
    page of two. A broad search (more than SEARCH_MATERIALIZE_MAX matches, e.g. "B000")
    keeps the OR as a filter, where walking the sort index is the right plan."""
    q = q.strip()[:64]
    if not q:
        return qs
    arms = _search_arms(q)
    ids_of = [qs.filter(arm).order_by().values_list("id", flat=True) for arm in arms]
    # UNION ALL: the LIMIT stops a broad arm early (a plain UNION dedups every match
    # first). A case found by two arms counts twice here, which can only send a search
    # to the OR a little early; id__in drops the duplicates.
    ids = list(ids_of[0].union(*ids_of[1:], all=True)[:SEARCH_MATERIALIZE_MAX + 1])
    if len(ids) > SEARCH_MATERIALIZE_MAX:
        return qs.filter(reduce(operator.or_, arms))
    return FollowUpCase.objects.filter(id__in=set(ids))


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
