from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Right, Round, Upper
from django.utils.translation import gettext_lazy as _

from config.pattern_ops import PatternOps
from settlement.lifecycle import FINAL_STATUSES, NON_FINAL_STATUSES, EventType, Outcome, Status
from settlement.payout_lifecycle import PayoutStatus

_NON_FINAL = sorted(NON_FINAL_STATUSES)
# A masked card: up to the first 6 digits, at least 3 mask characters, up to the last 4.
MASKED_PAN_REGEX = r"^[0-9]{0,6}[*xX]{3,}[0-9]{0,4}$"


class Payout(models.Model):
    """One bank credit covering many transactions (合并到账). Its amount must equal the
    sum of its transactions' net amounts, or it is a discrepancy (PayoutDiscrepancy).
    Written only by settlement.services.payouts (the payout door), every change with
    its PayoutEvent row."""

    Status = PayoutStatus

    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="payouts")
    reference = models.CharField(max_length=64)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="payouts")
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="CNY")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)
    credited_at = models.DateTimeField(null=True, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)
    """When the current status happened (the acquirer's time): an older one arriving later is stale."""
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "reference"], name="payout_unique_reference"),
            # A retried "sent" after "credited" once left credited_at on a sent payout.
            models.CheckConstraint(
                condition=Q(status=PayoutStatus.CREDITED, credited_at__isnull=False)
                | (~Q(status=PayoutStatus.CREDITED) & Q(credited_at__isnull=True)),
                name="payout_credited_at_iff_credited",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="payout_amount_nonneg"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "sent", "credited", "returned"]), name="payout_status_valid"
            ),
        ]
        indexes = [
            # The merchant's "arrivals" page lists its payouts newest first.
            models.Index(fields=["merchant", "-sent_at"], name="payout_merchant_sent"),
        ]

    def __str__(self) -> str:
        return self.reference


class Transaction(models.Model):
    """One card swipe, from capture to the bank credit. `status` is written only by
    settlement.services.events (the one door), always with its event row."""

    class Method(models.TextChoices):
        SWIPE = "swipe", _("Swipe")
        CHIP = "chip", _("Chip")
        CONTACTLESS = "contactless", _("Contactless")
        QR = "qr", _("QR code")

    Status = Status

    # channel and merchant need no FK index of their own: txn_unique_reference and
    # txn_merchant_captured lead with them.
    channel = models.ForeignKey(
        "channels.Channel", on_delete=models.PROTECT, related_name="transactions", db_index=False
    )
    reference = models.CharField(max_length=64, help_text=_("The acquirer's RRN / trace number"))
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="transactions", db_index=False
    )
    terminal = models.ForeignKey(
        "merchants.Terminal", on_delete=models.PROTECT, null=True, blank=True, related_name="transactions"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    fee = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    net = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3, default="CNY")
    masked_pan = models.CharField(max_length=19, blank=True)
    method = models.CharField(max_length=12, choices=Method.choices, default=Method.CHIP)
    captured_at = models.DateTimeField()

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CAPTURED)
    resume_status = models.CharField(
        max_length=10, choices=Status.choices, blank=True, help_text=_("Where a held swipe returns")
    )
    business_date = models.DateField()
    expected_by = models.DateTimeField(help_text=_("When the money should be in the bank account"))
    overdue_at = models.DateTimeField(help_text=_("expected_by + the channel's grace: late after this"))
    """Precomputed so the late scan is an index range scan (txn_overdue_unflagged)."""
    calendar_incomplete = models.BooleanField(
        default=False, help_text=_("expected_by used a year with no holiday data (Mon-Fri fallback)")
    )
    settled_at = models.DateTimeField(null=True, blank=True)
    credited_at = models.DateTimeField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    payout = models.ForeignKey(Payout, on_delete=models.SET_NULL, null=True, blank=True, related_name="transactions")
    # db_default: raw inserts (ingest, benches, tests) that do not name the column still work.
    pending_payout_reference = models.CharField(
        max_length=64, blank=True, default="", db_default="", help_text=_("A payout an event named before we had it: linked when it arrives")
    )
    delayed_since = models.DateTimeField(null=True, blank=True)
    late_round = models.PositiveSmallIntegerField(
        default=0, db_default=0, help_text=_("How many late spells ended (rescheduled, re-paid); the next one's ids carry it")
    )
    scheduled_from = models.DateTimeField(
        null=True, blank=True, help_text=_("The instant the deadline is counted from when not the capture (re-payment)")
    )
    at_risk_since = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True)
    poll_attempts = models.PositiveIntegerField(default=0)
    poll_apply_failures = models.PositiveIntegerField(
        default=0, db_default=0, help_text=_("Poll answers that failed to apply, in a row")
    )
    """At POLL_MAX_APPLY_FAILURES the row stops being polled (settlement.services.polling)."""
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "reference"], name="txn_unique_reference"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="txn_amount_positive"),
            models.CheckConstraint(condition=Q(fee__gte=0) & Q(net__gte=0), name="txn_fee_net_nonneg"),
            # Round() keeps the check exact on SQLite too, where decimals are stored as floats.
            models.CheckConstraint(condition=Q(net=Round(F("amount") - F("fee"), 2)), name="txn_net_is_amount_less_fee"),
            models.CheckConstraint(condition=Q(status__in=list(Status.values)), name="txn_status_valid"),
            models.CheckConstraint(
                condition=(Q(status=Status.HELD) & ~Q(resume_status="")) | (~Q(status=Status.HELD) & Q(resume_status="")),
                name="txn_resume_only_when_held",
            ),
            # No column can hold a full card number: first 6 + last 4 at most.
            models.CheckConstraint(
                condition=Q(masked_pan="") | Q(masked_pan__regex=MASKED_PAN_REGEX), name="txn_masked_pan_only"
            ),
            models.CheckConstraint(condition=Q(overdue_at__gte=F("expected_by")), name="txn_overdue_after_expected"),
        ]
        indexes = [
            # The late scan (settlement.services.delays): non-final rows not yet flagged,
            # by deadline. Final and flagged rows leave the index, so it stays small.
            models.Index(
                fields=["overdue_at"],
                name="txn_overdue_unflagged",
                condition=Q(status__in=_NON_FINAL, delayed_since__isnull=True),
            ),
            # Deadline recompute (settlement.services.reschedule): the late in-flight rows,
            # which txn_overdue_unflagged leaves out. Small: only flagged, non-final rows.
            models.Index(
                fields=["id"],
                name="txn_late_inflight",
                condition=Q(status__in=_NON_FINAL, delayed_since__isnull=False),
            ),
            # The poller claims due non-final rows of a channel.
            models.Index(
                fields=["channel", "next_poll_at"],
                name="txn_next_poll_due",
                condition=Q(status__in=_NON_FINAL, next_poll_at__isnull=False),
            ),
            # The staff banner counts rows whose poll answers keep failing (rare: tiny index).
            models.Index(fields=["channel"], name="txn_poll_apply_failing", condition=Q(poll_apply_failures__gt=0)),
            # Merchant dashboard: a merchant's swipes, newest first.
            models.Index(fields=["merchant", "-captured_at"], name="txn_merchant_captured"),
            # Merchant "find a swipe" (merchants.selectors.swipes_find): the reference
            # printed on the slip, an amount, or a card's last 4 digits, within one merchant.
            # The reference is found case-insensitively, whole or by a prefix of 4+
            # characters: UPPER(reference) with text_pattern_ops serves = and LIKE 'X%'.
            models.Index(F("merchant"), PatternOps(Upper("reference")), name="txn_merchant_ref_upper"),
            models.Index(fields=["merchant", "amount", "-captured_at"], name="txn_merchant_amount"),
            # The payout door links the swipes waiting for a payout when it arrives.
            models.Index(
                fields=["channel", "pending_payout_reference"],
                name="txn_pending_payout",
                condition=~Q(pending_payout_reference=""),
            ),
            models.Index(F("merchant"), Right("masked_pan", 4), F("captured_at").desc(), name="txn_merchant_last4"),
            # Merchant home (merchants.selectors.late_of, late_swipes_of): a merchant's
            # swipes still owed, by deadline; final rows leave it, so it stays small.
            models.Index(
                fields=["merchant", "expected_by"], name="txn_merchant_pending", condition=Q(status__in=_NON_FINAL)
            ),

            # Reconciliation: a channel's swipes of one business date (missing_in_file).
            models.Index(fields=["channel", "business_date"], name="txn_channel_business_date"),
            # "At risk" early warning: non-final, not late yet, by deadline.
            models.Index(
                fields=["expected_by"],
                name="txn_expected_unwarned",
                condition=Q(status__in=_NON_FINAL, at_risk_since__isnull=True, delayed_since__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.reference}"

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class SettlementEvent(models.Model):
    """The append-only audit trail: every status change is a row, and so is every event
    we received that changed nothing (stale)."""

    class Source(models.TextChoices):
        PUSH = "push", _("Pushed by acquirer")
        POLL = "poll", _("Learned by polling")
        STAFF = "staff", _("Staff")
        SYSTEM = "system", _("System")

    # No single-column FK indexes: event_unique_per_channel and event_txn_occurred lead
    # with these columns, and each extra index slows the event insert (the hot path).
    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="events", db_index=False)
    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="events", db_index=False)
    event_id = models.CharField(max_length=100, help_text=_("External id, unique per channel"))
    type = models.CharField(max_length=16, choices=EventType.choices)  # widening varchar: no rewrite
    source = models.CharField(max_length=6, choices=Source.choices)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, default=Outcome.APPLIED)
    from_status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=Status.choices, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    payout_reference = models.CharField(max_length=64, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    # sha256 of the canonical body: same id + same fingerprint = duplicate, else conflict.
    fingerprint = models.CharField(max_length=64, blank=True)
    # Source "staff": who recorded it (their evidence is in payload). No index: nothing
    # looks events up by user, and each index slows the event insert.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )

    class Meta:
        constraints = [
            # Exactly-once: each (channel, event_id) is inserted once (ON CONFLICT).
            models.UniqueConstraint(fields=["channel", "event_id"], name="event_unique_per_channel"),
            models.CheckConstraint(condition=Q(type__in=list(EventType.values)), name="event_type_valid"),
            # contradicts_final: stored for the record, never applied (final is final).
            models.CheckConstraint(
                condition=Q(outcome__in=["applied", "stale", "contradicts_final"]), name="event_outcome_stored"
            ),
            models.CheckConstraint(condition=Q(source__in=["push", "poll", "staff", "system"]), name="event_source_valid"),
        ]
        indexes = [
            # A transaction's timeline, and the fold that re-derives its state.
            models.Index(fields=["transaction", "occurred_at"], name="event_txn_occurred"),
        ]
        ordering = ["occurred_at", "id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} ({self.outcome})"

