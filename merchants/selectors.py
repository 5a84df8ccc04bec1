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

from django.db.models import (
    Count,
    DecimalField,
    Exists,
    Max,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Right, TruncDate, Upper
from django.http import Http404
from django.utils import timezone

from merchants.models import Membership, Merchant, Terminal
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
_ZERO = Value(Decimal("0"), output_field=DecimalField(max_digits=14, decimal_places=2))


# --- which merchant ----------------------------------------------------------------
def merchants_of(user) -> QuerySet[Merchant]:
    if not getattr(user, "is_authenticated", False):
        return Merchant.objects.none()
    role = Membership.objects.filter(user=user, merchant=OuterRef("pk")).values("role")[:1]
    return (
        Merchant.objects.filter(memberships__user=user)
        .annotate(my_role=Subquery(role))  # merchants.roles: what this user may see of each
        .select_related("channel")
        .order_by("name", "id")
    )


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
    return (
        Payout.objects.filter(merchant=merchant)
        .annotate(
            swipe_count=Count("transactions"),
            swipes_net=Coalesce(Sum("transactions__net"), _ZERO),
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
    late: bool = False
    reference_exact: bool = False  # the whole reference, not a prefix

    @property
    def empty(self) -> bool:
        return self == SwipeQuery()

    @classmethod
    def from_cleaned(cls, data: dict) -> SwipeQuery:
        """From a validated form's or serializer's data (same field names, terminal = id)."""
        return cls(
            # Pasted from our CSV, a reference carries its invisible text mark (merchants.export).
            reference=(data.get("reference") or "").replace("\u200b", "").strip(),
            amount=data.get("amount"),
            last4=data.get("last4") or "",
            terminal_id=data.get("terminal"),
            status=data.get("status") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            late=bool(data.get("late")),
        )


def local_day_bounds(merchant: Merchant, day: date) -> tuple[datetime, datetime]:
    tz = ZoneInfo(merchant.timezone)
    start = datetime.combine(day, time.min, tzinfo=tz)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)


REFERENCE_PREFIX_MIN = 4


def swipes_find(merchant: Merchant, query: SwipeQuery) -> QuerySet[Transaction]:
    """Every filter narrows the merchant's own swipes. Indexes: txn_merchant_captured
    (list, date range), txn_merchant_ref_upper, txn_merchant_amount, txn_merchant_last4."""
    qs = transactions_of(merchant).annotate(case_reference=open_case_reference())
    if query.reference:
        # Slips print references in capitals and phones type lowercase; 4+ characters
        # may be the start of one. Both forms use txn_merchant_ref_upper.
        wanted = query.reference.upper()
        qs = qs.alias(reference_upper=Upper("reference"))
        if query.reference_exact or len(wanted) < REFERENCE_PREFIX_MIN:
            qs = qs.filter(reference_upper=wanted)
        else:
            qs = qs.filter(reference_upper__startswith=wanted)
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
    if query.late:
        qs = qs.filter(status__in=_NON_FINAL, delayed_since__isnull=False)
    return qs.order_by("-captured_at", "-id")


# --- the home page -----------------------------------------------------------------


@dataclass(frozen=True)
class Today:
    """Today's swipes that still carry money (not reversed or refunded), in one equation:
    swiped (gross) - fee = net = arrived + on_the_way, all of today's captures."""

    day: date
    count: int
    swiped: Decimal
    fee: Decimal
    net: Decimal
    arrived: Decimal
    on_the_way: Decimal
    next_expected_by: datetime | None


@dataclass(frozen=True)
class Late:
    """Every late swipe, whatever day it was captured: count, the net still owed, and
    the oldest promise broken."""

    count: int
    amount: Decimal
    oldest_expected_by: datetime | None


@dataclass(frozen=True)
class ComingCredit:
    """Swipes expected on one day, by the bank credit they travel in (None: not yet
    batched into one by the acquirer)."""

    payout_id: int | None
    payout_reference: str
    amount: Decimal
    count: int
    by: datetime


@dataclass(frozen=True)
class ComingDay:
    day: date
    by: datetime
    amount: Decimal
    count: int
    credits: tuple[ComingCredit, ...]


@dataclass(frozen=True)
class Coming:
    """Money on its way and not late, by expected arrival day (the stored expected_by, in
    the merchant's time zone). `this_week` is today through Sunday, today included."""

    today: ComingDay | None
    tomorrow: ComingDay | None
    this_week: Decimal
    days: tuple[ComingDay, ...]

    @property
    def today_amount(self) -> Decimal:
        return self.today.amount if self.today else Decimal("0")

    @property
    def tomorrow_amount(self) -> Decimal:
        return self.tomorrow.amount if self.tomorrow else Decimal("0")


@dataclass(frozen=True)
class HomeNumbers:
    """What the home page and `/api/v1/merchant/today/` both show: one source."""

    today: Today
    late: Late
    coming: Coming


def today_of(merchant: Merchant, *, now: datetime | None = None) -> Today:
    """Today's swipes in the merchant's time zone, in one aggregate query
    (txn_merchant_captured)."""
    now = now or timezone.now()
    day = now.astimezone(ZoneInfo(merchant.timezone)).date()
    start, end = local_day_bounds(merchant, day)
    row = transactions_of(merchant).filter(captured_at__gte=start, captured_at__lt=end).aggregate(**_today_sums())
    return Today(day=day, **{name[2:]: value for name, value in row.items()})


def _today_sums() -> dict:
    """The figures of `Today`, one definition for one shop and for all of an owner's.
    Aliases differ from the field names: an aggregate may not be named like a column."""
    money_due = ~Q(status__in=_NO_MONEY_DUE)
    pending = Q(status__in=_NON_FINAL)
    return {
        "t_count": Count("id", filter=money_due),
        "t_swiped": Coalesce(Sum("amount", filter=money_due), _ZERO),
        "t_fee": Coalesce(Sum("fee", filter=money_due), _ZERO),
        "t_net": Coalesce(Sum("net", filter=money_due), _ZERO),
        "t_arrived": Coalesce(Sum("net", filter=Q(status=Status.CREDITED)), _ZERO),
        "t_on_the_way": Coalesce(Sum("net", filter=pending), _ZERO),
        "t_next_expected_by": Max("expected_by", filter=pending),
    }


def _late_sums() -> dict:
    return {"t_count": Count("id"), "t_amount": Coalesce(Sum("net"), _ZERO), "t_oldest_expected_by": Min("expected_by")}


def late_pending(merchant: Merchant) -> QuerySet[Transaction]:
    """The merchant's late swipes (non-final, flagged), on txn_merchant_pending."""
    return transactions_of(merchant).filter(status__in=_NON_FINAL, delayed_since__isnull=False)


def late_of(merchant: Merchant) -> Late:
    row = late_pending(merchant).aggregate(**_late_sums())
    return Late(**{name[2:]: value for name, value in row.items()})


COMING_ROWS = 200


def coming_of(merchant: Merchant, *, now: datetime | None = None) -> Coming:
    """One grouped query on txn_merchant_pending. Held swipes have no promise to show; a
    swipe past its time but within the grace (not late yet) still counts as today's."""
    now = now or timezone.now()
    tz = ZoneInfo(merchant.timezone)
    today = now.astimezone(tz).date()
    rows = (
        transactions_of(merchant)
        .filter(status__in=_NON_FINAL, delayed_since__isnull=True)
        .exclude(status=Status.HELD)
        .annotate(day=TruncDate("expected_by", tzinfo=tz))
        .values("day", "payout_id", "payout__reference")
        .annotate(amount=Sum("net"), count=Count("id"), by=Max("expected_by"))
        .order_by("day", "payout_id")[:COMING_ROWS]
    )
    by_day: dict[date, list[ComingCredit]] = {}
    for row in rows:
        credit = ComingCredit(row["payout_id"], row["payout__reference"] or "", row["amount"], row["count"], row["by"])
        by_day.setdefault(max(row["day"], today), []).append(credit)
    days = tuple(
        ComingDay(day=day, by=max(c.by for c in credits), amount=sum((c.amount for c in credits), Decimal("0")),
                  count=sum(c.count for c in credits), credits=tuple(_merge_credits(credits)))
        for day, credits in sorted(by_day.items())
    )
    sunday = today + timedelta(days=6 - today.weekday())
    found = {d.day: d for d in days}
    return Coming(
        today=found.get(today), tomorrow=found.get(today + timedelta(days=1)),
        this_week=sum((d.amount for d in days if d.day <= sunday), Decimal("0")), days=days,
    )


def _merge_credits(credits: list[ComingCredit]) -> list[ComingCredit]:
    """Rows of earlier days folded into today can name the same credit twice."""
    merged: dict[int | None, ComingCredit] = {}
    for c in credits:
        seen = merged.get(c.payout_id)
        merged[c.payout_id] = c if seen is None else ComingCredit(
            c.payout_id, c.payout_reference, seen.amount + c.amount, seen.count + c.count, max(seen.by, c.by))
    return sorted(merged.values(), key=lambda c: (c.payout_id is None, c.by))


def home_numbers(merchant: Merchant, *, now: datetime | None = None) -> HomeNumbers:
    return HomeNumbers(today=today_of(merchant, now=now), late=late_of(merchant), coming=coming_of(merchant, now=now))


def late_swipes_of(merchant: Merchant, *, limit: int = 20) -> QuerySet[Transaction]:
    """Anything late, whatever day it was swiped, oldest promise first, with its open case."""
    open_cases = FollowUpCase.objects.exclude(status=FollowUpCase.Status.RESOLVED)
    return (
        late_pending(merchant)
        .prefetch_related(Prefetch("cases", queryset=open_cases, to_attr="open_cases"))
        .order_by("expected_by", "id")[:limit]
    )


# --- every shop of an owner -------------------------------------------------------
@dataclass(frozen=True)
class ShopNumbers:
    merchant: Merchant
    today: Today
    late: Late
    unread: int


@dataclass(frozen=True)
class AllShops:
    shops: tuple[ShopNumbers, ...]
    today: Today  # the sums across shops (day: the first shop's)
    late: Late
    unread: int


def all_shops_of(merchants: list[Merchant], *, now: datetime | None = None) -> AllShops:
    """Each of the user's shops with its today / late / unread, in one grouped query per
    figure (and per time zone for today: each shop's day is its own)."""
    now = now or timezone.now()
    ids = [m.pk for m in merchants]
    today_rows: dict[int, dict] = {}
    by_tz: dict[str, list[Merchant]] = {}
    for m in merchants:
        by_tz.setdefault(m.timezone, []).append(m)
    days = {}
    for tz_name, group in by_tz.items():
        day = now.astimezone(ZoneInfo(tz_name)).date()
        start, end = local_day_bounds(group[0], day)
        for m in group:
            days[m.pk] = day
        rows = (Transaction.objects.filter(merchant__in=[m.pk for m in group], captured_at__gte=start,
                                           captured_at__lt=end)
                .values("merchant_id").annotate(**_today_sums()).order_by())
        today_rows.update({r.pop("merchant_id"): r for r in rows})
    late_rows = {
        r.pop("merchant_id"): r
        for r in Transaction.objects.filter(merchant__in=ids, status__in=_NON_FINAL, delayed_since__isnull=False)
        .values("merchant_id").annotate(**_late_sums()).order_by()
    }
    unread = dict(
        Notification.objects.filter(merchant__in=ids, read_at__isnull=True)
        .values("merchant_id").annotate(n=Count("id")).order_by().values_list("merchant_id", "n")
    )
    empty_today = {name: (0 if name == "t_count" else None if name == "t_next_expected_by" else Decimal("0.00"))
                   for name in _today_sums()}
    empty_late = {"t_count": 0, "t_amount": Decimal("0.00"), "t_oldest_expected_by": None}
    shops = tuple(
        ShopNumbers(
            merchant=m,
            today=Today(day=days[m.pk], **{k[2:]: v for k, v in today_rows.get(m.pk, empty_today).items()}),
            late=Late(**{k[2:]: v for k, v in late_rows.get(m.pk, empty_late).items()}),
            unread=unread.get(m.pk, 0),
        )
        for m in merchants
    )
    return AllShops(shops=shops, today=_sum_today(shops), late=_sum_late(shops), unread=sum(unread.values()))


def _sum_today(shops: tuple[ShopNumbers, ...]) -> Today:
    todays = [s.today for s in shops]
    nexts = [t.next_expected_by for t in todays if t.next_expected_by]
    money = {name: sum((getattr(t, name) for t in todays), Decimal("0"))
             for name in ("swiped", "fee", "net", "arrived", "on_the_way")}
    return Today(day=todays[0].day if todays else timezone.localdate(), count=sum(t.count for t in todays),
                 next_expected_by=max(nexts, default=None), **money)


def _sum_late(shops: tuple[ShopNumbers, ...]) -> Late:
    oldest = [s.late.oldest_expected_by for s in shops if s.late.oldest_expected_by]
    return Late(count=sum(s.late.count for s in shops), amount=sum((s.late.amount for s in shops), Decimal("0")),
                oldest_expected_by=min(oldest, default=None))


def across_shops_badge(merchants: list[Merchant]) -> tuple[int, int]:
    """(late swipes, unread messages) across all of the user's shops: the shop bar's
    badge, so a late swipe at the other shop is never out of sight. Two small queries."""
    ids = [m.pk for m in merchants]
    late = Transaction.objects.filter(merchant__in=ids, status__in=_NON_FINAL, delayed_since__isnull=False).count()
    unread = Notification.objects.filter(merchant__in=ids, read_at__isnull=True).count()
    return late, unread


def owner_among(merchants: list[Merchant], kind: str, pk) -> Merchant | None:
    """Which of these merchants owns the swipe / bank credit / case `pk` (None: none of
    them). Lets a link to another of the user's own shops switch to it, not 404."""
    model = {"txn": Transaction, "payout": Payout, "case": FollowUpCase}[kind]
    try:
        wanted = int(pk)
    except (TypeError, ValueError):
        return None
    owner_id = model.objects.filter(pk=wanted, merchant__in=[m.pk for m in merchants]).values_list(
        "merchant_id", flat=True).first()
    return next((m for m in merchants if m.pk == owner_id), None)


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
