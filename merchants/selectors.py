"""THE merchant scoping layer (RELIABILITY.md "Tenant isolation").

Every merchant-owned queryset that a page or API endpoint shows goes through here:
the user's merchants come from their memberships, the current merchant is one of them,
and transactions, payouts, cases and notifications are always filtered by it. Views
never call `Transaction.objects` directly, so another merchant's id can only ever be a
404 or an empty list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Count, DecimalField, Exists, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Right
from django.http import Http404
from django.utils import timezone

from merchants.models import Merchant, Terminal
from settlement.lifecycle import FINAL_STATUSES, NON_FINAL_STATUSES, Outcome, Status
from settlement.models import (
    CaseEntry,
    FollowUpCase,
    Notification,
    Payout,
    PayoutDiscrepancy,
    PayoutEvent,
    SettlementEvent,
    Transaction,
)
from settlement.payout_lifecycle import CREDITED_BY_SWIPES_RULE

SESSION_KEY = "merchant_id"
_NON_FINAL = sorted(NON_FINAL_STATUSES)
_NO_MONEY_DUE = [Status.REVERSED, Status.REFUNDED]


# --- which merchant ----------------------------------------------------------------
def merchants_of(user) -> QuerySet[Merchant]:
    if not getattr(user, "is_authenticated", False):
        return Merchant.objects.none()
    return Merchant.objects.filter(memberships__user=user).select_related("channel").order_by("name", "id")


def merchant_for(*, user, merchant_id: int | str | None, fallback_id: int | None = None) -> Merchant | None:
    """The merchant the user asked for (404 when not theirs), else the session's or their first.

    `merchant_id` is an explicit request (a switch, an API `?merchant=`): a foreign or
    malformed id is a 404, never a silent fallback. `fallback_id` (the session) that is
    no longer valid (membership removed) quietly falls back to the first merchant.
    """
    mine = merchants_of(user)
    if merchant_id not in (None, ""):
        try:
            wanted = int(merchant_id)
        except (TypeError, ValueError):
            raise Http404("no such merchant") from None
        merchant = mine.filter(pk=wanted).first()
        if merchant is None:
            raise Http404("no such merchant")
        return merchant
    if fallback_id is not None:
        merchant = mine.filter(pk=fallback_id).first()
        if merchant is not None:
            return merchant
    return mine.first()


def current_merchant(request) -> Merchant | None:
    """The merchant this browser session is looking at (switchable among the user's)."""
    return current_merchant_and_choices(request)[0]


def current_merchant_and_choices(request) -> tuple[Merchant | None, list[Merchant]]:
    """The session's merchant and all of the user's (for the switcher), in one query."""
    mine = list(merchants_of(request.user))
    wanted = request.session.get(SESSION_KEY)
    current = next((m for m in mine if m.pk == wanted), mine[0] if mine else None)
    return current, mine


# --- what the merchant owns --------------------------------------------------------
def open_case_reference() -> Subquery:
    return Subquery(
        FollowUpCase.objects.filter(transaction=OuterRef("pk"))
        .exclude(status=FollowUpCase.Status.RESOLVED)
        .order_by("-opened_at")
        .values("reference")[:1]
    )


def transactions_of(merchant: Merchant) -> QuerySet[Transaction]:
    return Transaction.objects.filter(merchant=merchant).select_related("terminal")


def transaction_of(merchant: Merchant, pk) -> Transaction:
    txn = (
        transactions_of(merchant)
        .select_related("payout", "channel")
        .filter(pk=_int_or_404(pk))
        .first()
    )
    if txn is None:
        raise Http404("no such swipe")
    return txn


def timeline_of(txn: Transaction) -> QuerySet[SettlementEvent]:
    """The swipe's trail as the merchant sees it: stored applied events, oldest first."""
    return txn.events.filter(outcome=Outcome.APPLIED).order_by("occurred_at", "id")


def terminals_of(merchant: Merchant) -> QuerySet[Terminal]:
    return Terminal.objects.filter(merchant=merchant).order_by("serial_number")


def payouts_of(merchant: Merchant) -> QuerySet[Payout]:
    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))
    return (
        Payout.objects.filter(merchant=merchant)
        .annotate(
            swipe_count=Count("transactions"),
            swipes_net=Coalesce(Sum("transactions__net"), zero),
            has_discrepancy=Exists(PayoutDiscrepancy.objects.filter(payout=OuterRef("pk"), resolved_at__isnull=True)),
        )
        .order_by("-sent_at", "-id")
    )


def payout_of(merchant: Merchant, pk) -> Payout:
    payout = payouts_of(merchant).filter(pk=_int_or_404(pk)).first()
    if payout is None:
        raise Http404("no such arrival")
    return payout


def payout_open_discrepancy(payout: Payout) -> PayoutDiscrepancy | None:
    return PayoutDiscrepancy.objects.filter(payout=payout, resolved_at__isnull=True).first()


def payout_credited_by_swipes(payout: Payout) -> bool:
    """Whether the system credited it by CREDITED_BY_SWIPES_RULE (not the acquirer's word)."""
    if payout.status != Payout.Status.CREDITED:
        return False
    return PayoutEvent.objects.filter(
        payout=payout, kind=PayoutEvent.Kind.STATUS, to_status=Payout.Status.CREDITED,
        outcome=PayoutEvent.Outcome.APPLIED, rule=CREDITED_BY_SWIPES_RULE,
    ).exists()


def payout_swipes(payout: Payout) -> QuerySet[Transaction]:
    # Scoped by the payout's own merchant too: a swipe of another merchant wrongly linked
    # to this payout (bad acquirer data) is never shown here.
    return transactions_of(payout.merchant).filter(payout=payout).order_by("captured_at", "id")


def cases_of(merchant: Merchant) -> QuerySet[FollowUpCase]:
    return (
        FollowUpCase.objects.filter(merchant=merchant)
        .select_related("transaction", "payout")
        .order_by("-opened_at", "-id")
    )


def case_of(merchant: Merchant, pk) -> FollowUpCase:
    case = cases_of(merchant).filter(pk=_int_or_404(pk)).first()
    if case is None:
        raise Http404("no such case")
    return case


def case_entries_for_merchant(case: FollowUpCase) -> QuerySet[CaseEntry]:
    """Only what staff chose to show the merchant, plus the merchant's own messages."""
    return case.entries.filter(Q(visible_to_merchant=True) | Q(kind=CaseEntry.Kind.MERCHANT_MESSAGE)).select_related(
        "author"
    )


def notifications_of(merchant: Merchant) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(merchant=merchant)
        .select_related("transaction", "case")
        .order_by("-created_at", "-id")
    )


def unread_notification_count(merchant: Merchant) -> int:
    return Notification.objects.filter(merchant=merchant, read_at__isnull=True).count()


# --- finding a swipe ---------------------------------------------------------------
@dataclass(frozen=True)
class SwipeQuery:
    reference: str = ""
    amount: Decimal | None = None
    last4: str = ""
    terminal_id: int | None = None
    status: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @property
    def empty(self) -> bool:
        return self == SwipeQuery()

    @classmethod
    def from_cleaned(cls, data: dict) -> SwipeQuery:
        """From a validated form's or serializer's data (same field names, terminal = id)."""
        return cls(
            reference=(data.get("reference") or "").strip(),
            amount=data.get("amount"),
            last4=data.get("last4") or "",
            terminal_id=data.get("terminal"),
            status=data.get("status") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


def local_day_bounds(merchant: Merchant, day: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(merchant.timezone)
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


def swipes_find(merchant: Merchant, query: SwipeQuery) -> QuerySet[Transaction]:
    """Every filter narrows the merchant's own swipes. Indexes: txn_merchant_captured
    (list, date range), txn_merchant_reference, txn_merchant_amount, txn_merchant_last4."""
    qs = transactions_of(merchant).annotate(case_reference=open_case_reference())
    if query.reference:
        qs = qs.filter(reference=query.reference)
    if query.amount is not None:
        qs = qs.filter(amount=query.amount)
    if query.last4:
        # Right(masked_pan, 4) matches the expression index txn_merchant_last4.
        qs = qs.alias(card_last4=Right("masked_pan", 4)).filter(card_last4=query.last4)
    if query.terminal_id is not None:
        qs = qs.filter(terminal_id=query.terminal_id)
    if query.status:
        qs = qs.filter(status=query.status)
    if query.date_from is not None:
        qs = qs.filter(captured_at__gte=local_day_bounds(merchant, query.date_from)[0])
    if query.date_to is not None:
        qs = qs.filter(captured_at__lt=local_day_bounds(merchant, query.date_to)[1])
    return qs.order_by("-captured_at", "-id")


# --- the home page -----------------------------------------------------------------
@dataclass(frozen=True)
class Today:
    day: date
    count: int
    swiped: Decimal
    arrived: Decimal
    on_the_way: Decimal
    next_expected_by: datetime | None
    late_count: int


def today_of(merchant: Merchant, *, now: datetime | None = None) -> Today:
    """Today's swipes in the merchant's time zone, in one aggregate query."""
    now = now or timezone.now()
    day = now.astimezone(ZoneInfo(merchant.timezone)).date()
    start, end = local_day_bounds(merchant, day)
    zero = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))
    money_due = ~Q(status__in=_NO_MONEY_DUE)
    row = transactions_of(merchant).filter(captured_at__gte=start, captured_at__lt=end).aggregate(
        count=Count("id", filter=money_due),
        swiped=Coalesce(Sum("amount", filter=money_due), zero),
        arrived=Coalesce(Sum("net", filter=Q(status=Status.CREDITED)), zero),
        on_the_way=Coalesce(Sum("net", filter=Q(status__in=_NON_FINAL)), zero),
        late_count=Count("id", filter=Q(status__in=_NON_FINAL, delayed_since__isnull=False)),
    )
    nxt = (
        transactions_of(merchant)
        .filter(captured_at__gte=start, captured_at__lt=end, status__in=_NON_FINAL)
        .order_by("-expected_by")
        .values_list("expected_by", flat=True)
        .first()
    )
    return Today(day=day, next_expected_by=nxt, **row)


def late_swipes_of(merchant: Merchant, *, limit: int = 20) -> QuerySet[Transaction]:
    """Anything late, whatever day it was swiped, with its open case."""
    open_cases = FollowUpCase.objects.exclude(status=FollowUpCase.Status.RESOLVED)
    return (
        transactions_of(merchant)
        .filter(status__in=_NON_FINAL, delayed_since__isnull=False)
        .prefetch_related(Prefetch("cases", queryset=open_cases, to_attr="open_cases"))
        .order_by("expected_by", "id")[:limit]
    )


def recent_swipes_of(merchant: Merchant, *, limit: int = 10) -> QuerySet[Transaction]:
    return transactions_of(merchant).order_by("-captured_at", "-id")[:limit]


def is_final(status: str) -> bool:
    return status in FINAL_STATUSES


def _int_or_404(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Http404("not found") from None


def merchant_terminal_serials(merchant: Merchant) -> list[str]:
    """The merchant's active terminal serials (the acquirer API's view of a merchant)."""
    return list(
        merchant.terminals.filter(active=True).order_by("serial_number").values_list("serial_number", flat=True)
    )
