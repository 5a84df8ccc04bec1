"""A payout's trail and its stored discrepancies. Written only by the payout door
(settlement.services.payouts and settlement.services.payout_links)."""

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Round
from django.utils.translation import gettext_lazy as _

from settlement.payout_lifecycle import PayoutStatus

_STATUSES = list(PayoutStatus.values)


class PayoutEvent(models.Model):
    """Append-only: every change of a payout is a row (status moves, the swipes linked
    and unlinked, amount corrections), and so is every status report that changed
    nothing because it was stale."""

    class Kind(models.TextChoices):
        STATUS = "status", _("Status")
        LINKED = "linked", _("Swipe linked")
        UNLINKED = "unlinked", _("Swipe unlinked")
        AMENDED = "amended", _("Amount corrected")

    class Source(models.TextChoices):
        PUSH = "push", _("Pushed by acquirer")
        POLL = "poll", _("Learned by polling")
        STAFF = "staff", _("Staff")
        SYSTEM = "system", _("System")

    class Outcome(models.TextChoices):
        APPLIED = "applied", _("Applied")
        STALE = "stale", _("Stale")

    # Indexed by payoutevent_payout_recorded (payout first), so no separate FK index.
    payout = models.ForeignKey("settlement.Payout", on_delete=models.PROTECT, related_name="events", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source = models.CharField(max_length=6, choices=Source.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.APPLIED)
    from_status = models.CharField(max_length=10, choices=PayoutStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=PayoutStatus.choices, blank=True)
    # The swipe linked or unlinked; indexed by payoutevent_txn (only rows that have one).
    transaction = models.ForeignKey(
        "settlement.Transaction", on_delete=models.PROTECT, null=True, blank=True, related_name="payout_events",
        db_index=False,
    )
    rule = models.CharField(max_length=32, blank=True, help_text=_("The system rule that made this change"))
    occurred_at = models.DateTimeField(help_text=_("When it happened (the acquirer's or bank's time)"))
    recorded_at = models.DateTimeField(help_text=_("When we learned it"))
    reason = models.CharField(max_length=300, blank=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["recorded_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=["status", "linked", "unlinked", "amended"]),
                                   name="payoutevent_kind_valid"),
            models.CheckConstraint(condition=Q(source__in=["push", "poll", "staff", "system"]),
                                   name="payoutevent_source_valid"),
            models.CheckConstraint(condition=Q(outcome__in=["applied", "stale"]), name="payoutevent_outcome_valid"),
            models.CheckConstraint(
                condition=~Q(kind="status") | Q(to_status__in=_STATUSES), name="payoutevent_status_has_target"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["linked", "unlinked"]) | Q(transaction__isnull=False),
                name="payoutevent_link_has_swipe",
            ),
        ]
        indexes = [
            # A payout's timeline (admin, staff and merchant pages).
            models.Index(fields=["payout", "recorded_at"], name="payoutevent_payout_recorded"),
            # A swipe's payout history.
            models.Index(fields=["transaction"], name="payoutevent_txn", condition=Q(transaction__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.payout_id} {self.kind} {self.from_status}->{self.to_status} ({self.outcome})"


class PayoutLine(models.Model):
    """An itemised line of a payout as the acquirer sent it (issue 12): how the credited
    amount was arrived at. Amounts are signed: what the merchant receives is positive,
    a deduction negative. Replaced as a whole by a later post that sends lines."""

    class Kind(models.TextChoices):
        SWIPES = "swipes", _("Swipes")
        FEE = "fee", _("Fees")
        REFUND = "refund", _("Refunds")
        CHARGEBACK = "chargeback", _("Chargebacks and error adjustments (差错调整)")
        RESERVE = "reserve", _("Reserve withheld")
        ADJUSTMENT = "adjustment", _("Other adjustment")

    payout = models.ForeignKey("settlement.Payout", on_delete=models.CASCADE, related_name="lines", db_index=False)
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    label = models.CharField(max_length=100, blank=True)
    release_date = models.DateField(null=True, blank=True, help_text=_("When a withheld reserve is paid out"))

    class Meta:
        ordering = ["payout", "position"]
        constraints = [
            # Also the index for a payout's lines (payout first).
            models.UniqueConstraint(fields=["payout", "position"], name="payoutline_unique_position"),
            models.CheckConstraint(
                condition=Q(kind__in=["swipes", "fee", "refund", "chargeback", "reserve", "adjustment"]),
                name="payoutline_kind_valid",
            ),
            # Money the merchant gets is positive; what is taken from it is negative.
            models.CheckConstraint(
                condition=~Q(kind="swipes") | Q(amount__gte=0), name="payoutline_swipes_nonneg"
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["fee", "refund", "reserve"]) | Q(amount__lte=0),
                name="payoutline_deduction_nonpos",
            ),
            models.CheckConstraint(condition=Q(kind="reserve") | Q(release_date__isnull=True),
                                   name="payoutline_release_only_reserve"),
            models.CheckConstraint(condition=~Q(kind="adjustment") | ~Q(label=""),
                                   name="payoutline_adjustment_labelled"),
        ]

    def __str__(self) -> str:
        return f"{self.payout_id} {self.kind} {self.amount}"

    @property
    def explains(self) -> bool:
        return self.kind in EXPLAINING_KINDS


# Lines that explain why a credit is not the net of its swipes. "swipes" and "fee"
# restate the swipes themselves, whose own amounts and fees we hold and check.
EXPLAINING_KINDS = frozenset({
    PayoutLine.Kind.REFUND, PayoutLine.Kind.CHARGEBACK, PayoutLine.Kind.RESERVE, PayoutLine.Kind.ADJUSTMENT,
})


class PayoutDiscrepancy(models.Model):
    """A payout whose amount differs from the sum of its swipes' net amounts and of the
    lines that explain the rest (refunds, chargebacks, reserve, adjustments). Stored
    when found, kept up to date while it lasts, resolved when a later post (of the
    payout or of its swipes' events) makes the sums agree."""

    payout = models.ForeignKey("settlement.Payout", on_delete=models.PROTECT, related_name="discrepancies")
    amount = models.DecimalField(max_digits=14, decimal_places=2, help_text=_("The payout amount"))
    expected = models.DecimalField(
        max_digits=14, decimal_places=2, help_text=_("Sum of its swipes' net amounts and of its explaining lines")
    )
    explained = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, help_text=_("Of which its lines (refunds, reserve, ...)")
    )
    difference = models.DecimalField(max_digits=14, decimal_places=2, help_text=_("amount - expected"))
    swipe_count = models.PositiveIntegerField(default=0)
    found_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-found_at", "-id"]
        constraints = [
            # The door updates the open one; a second open row for a payout is a bug.
            models.UniqueConstraint(fields=["payout"], condition=Q(resolved_at__isnull=True),
                                    name="discrepancy_one_open_per_payout"),
            models.CheckConstraint(condition=Q(difference=Round(F("amount") - F("expected"), 2)),
                                   name="discrepancy_difference_exact"),
            models.CheckConstraint(condition=~Q(difference=0), name="discrepancy_nonzero"),
        ]

    def __str__(self) -> str:
        return f"{self.payout_id} {self.difference}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def magnitude(self):
        """The difference without its sign, for sentences that say "more" or "less"."""
        return abs(self.difference)
