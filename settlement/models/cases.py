"""Follow-up of late payments: cases, their history, channel incidents, and the
notifications merchants receive. Written only through settlement.services."""

from django.conf import settings
from django.db import models
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _


class Cause(models.TextChoices):
    """Suggested causes of a late arrival, in the seed documents' own terms."""

    CHANNEL_OUTAGE = "channel_outage", _("Channel outage / network")
    BANK_PROCESSING = "bank_processing", _("Bank processing")
    PLATFORM_SETTLEMENT = "platform_settlement", _("Payment-platform settlement")
    CLEARING_HOUSE = "clearing_house", _("Clearing-house processing")
    HOLIDAY_BACKLOG = "holiday_backlog", _("Holiday / peak backlog")
    WRONG_ACCOUNT = "wrong_account", _("Wrong settlement account")
    RISK_HOLD = "risk_hold", _("Risk-control hold")
    DATA_ERROR = "data_error", _("Data error")
    UNKNOWN = "unknown", _("Not yet known")


class ChannelIncident(models.Model):
    """Many swipes of one channel late in one window: one row for staff, not hundreds."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        RESOLVED = "resolved", _("Resolved")

    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="incidents")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    cause = models.CharField(max_length=24, choices=Cause.choices, default=Cause.UNKNOWN)
    opened_at = models.DateTimeField()
    window_start = models.DateTimeField(help_text=_("Earliest overdue_at of its cases"))
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        constraints = [
            # Detection attaches new late swipes to the channel's one open incident.
            models.UniqueConstraint(fields=["channel"], condition=Q(status="open"), name="incident_one_open_per_channel"),
        ]

    def __str__(self) -> str:
        return f"incident {self.pk} {self.channel_id}"


class IncidentUpdate(models.Model):
    """What staff told every merchant affected by a channel incident, once per update."""

    incident = models.ForeignKey(ChannelIncident, on_delete=models.CASCADE, related_name="updates")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    body = models.TextField()
    merchants_told = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"incident {self.incident_id} update {self.pk}"


class FollowUpCase(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLAIMED = "claimed", _("In progress")
        ESCALATED = "escalated", _("Escalated")
        # Waiting states stop the SLA clock (sla_paused_at) until the wait ends.
        WAITING_MERCHANT = "waiting_merchant", _("Waiting on merchant")
        WAITING_ACQUIRER = "waiting_acquirer", _("Waiting on acquirer / bank")
        RESOLVED = "resolved", _("Resolved")

    class Origin(models.TextChoices):
        DETECTED = "detected", _("Found late by the system")
        INQUIRY = "inquiry", _("Merchant inquiry")
        STAFF = "staff", _("Opened by staff")
        SYSTEM = "system", _("Raised by a data check")

    class Outcome(models.TextChoices):
        CREDITED_LATE = "credited_late", _("Credited late")
        REFUNDED = "refunded", _("Refunded")
        COMPENSATED = "compensated", _("Compensated")
        ACCOUNT_CORRECTED = "account_corrected", _("Account corrected and re-paid")
        NO_FAULT = "no_fault", _("No fault found")
        RESCHEDULED = "rescheduled", _("Deadline moved: not late any more")

    Cause = Cause

    reference = models.CharField(max_length=20, help_text=_("Shown to merchants, e.g. C2611-000123"))
    transaction = models.ForeignKey(
        "settlement.Transaction", on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    # No index: nothing looks cases up by payout, and payouts are never deleted.
    payout = models.ForeignKey(
        "settlement.Payout", on_delete=models.PROTECT, null=True, blank=True, related_name="cases", db_index=False
    )
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, related_name="cases")
    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="cases")
    incident = models.ForeignKey(ChannelIncident, on_delete=models.SET_NULL, null=True, blank=True, related_name="cases")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.DETECTED)
    cause = models.CharField(max_length=24, choices=Cause.choices, default=Cause.UNKNOWN)
    cause_evidence = models.JSONField(default=dict, blank=True)
    amount_at_stake = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="assigned_cases"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField()
    sla_due_at = models.DateTimeField()
    follow_up_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    last_action_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    delay_seconds = models.PositiveIntegerField(null=True, blank=True, help_text=_("How late it arrived"))
    # What staff promised the merchant (never the internal follow_up_at reminder):
    # future-only when set, shown with who set it and why.
    new_expected_by = models.DateTimeField(null=True, blank=True)
    new_expected_reason = models.CharField(max_length=300, blank=True, db_default="")  # raw bulk inserts omit it
    new_expected_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    new_expected_set_at = models.DateTimeField(null=True, blank=True)
    # Set once by the missed-arrival scan when new_expected_by passed without the money.
    arrival_missed_at = models.DateTimeField(null=True, blank=True)
    # Set while the case waits on the merchant or the acquirer: the SLA clock is stopped.
    sla_paused_at = models.DateTimeField(null=True, blank=True)
    # The swipe's expected_by, copied so the queue sorts and buckets by days late without
    # joining the swipes; kept in step by reschedule. Null for a case without a swipe.
    due_at = models.DateTimeField(null=True, blank=True)
    # The last 4 digits of the swipe's masked card number, copied so the queue's search
    # finds a case by them on the (small) case table, not by a LIKE over every swipe.
    # "" for a case without a card. A swipe's card never changes.
    card_last4 = models.CharField(max_length=4, blank=True, default="", db_default="")

    class Meta:
        constraints = [
            # A constraint rather than unique=True: no extra LIKE index (the late scan
            # inserts thousands of cases a second; every index is paid per row).
            models.UniqueConstraint(fields=["reference"], name="case_unique_reference"),
            # Two scanners (or a scan and an inquiry) can never open two cases for one swipe.
            models.UniqueConstraint(
                fields=["transaction"],
                condition=Q(transaction__isnull=False) & ~Q(status="resolved"),
                name="case_one_open_per_txn",
            ),
            # The payout door opens (or joins) one data-error case per payout discrepancy.
            models.UniqueConstraint(
                fields=["payout"],
                condition=Q(payout__isnull=False, transaction__isnull=True, cause="data_error") & ~Q(status="resolved"),
                name="case_one_open_data_error_per_payout",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "claimed", "escalated", "waiting_merchant", "waiting_acquirer",
                                        "resolved"]),
                name="case_status_valid",
            ),
            # The clock is stopped exactly while the case waits.
            models.CheckConstraint(
                condition=Q(status__in=["waiting_merchant", "waiting_acquirer"], sla_paused_at__isnull=False)
                | (~Q(status__in=["waiting_merchant", "waiting_acquirer"]) & Q(sla_paused_at__isnull=True)),
                name="case_paused_iff_waiting",
            ),
            models.CheckConstraint(
                condition=Q(status="resolved", resolved_at__isnull=False) | (~Q(status="resolved") & Q(resolved_at__isnull=True)),
                name="case_resolved_has_time",
            ),
        ]
        indexes = [
            # The staff queue: unresolved cases by SLA due time (the "sla" sort and its reverse).
            models.Index(fields=["sla_due_at", "id"], name="case_open_by_sla", condition=~Q(status="resolved")),
            # The queue's sorts, each read in index order for a page of 50 instead of a sort
            # of every open case: the default (escalated first, SLA due, money, id) ...
            models.Index(Case(When(status="escalated", then=Value(0)), default=Value(1), output_field=IntegerField()),
                         "sla_due_at", F("amount_at_stake").desc(), "id", name="case_open_by_urgency",
                         condition=~Q(status="resolved")),
            # ... money and age (forwards and backwards: "amount" / "-amount", "age" / "-age").
            models.Index(fields=["amount_at_stake", "id"], name="case_open_by_amount", condition=~Q(status="resolved")),
            models.Index(fields=["opened_at", "id"], name="case_open_by_opened", condition=~Q(status="resolved")),
            # The queue's totals (count, money, listed outside open incidents) read from this
            # narrow covering index: an index-only scan on PostgreSQL, about 4x cheaper than
            # scanning the wide case rows at 10k cases. Kept narrow on purpose: with more
            # columns the planner prices it above the sequential scan.
            # Both key columns rather than INCLUDE: the same index-only scan, and SQLite
            # (which has no INCLUDE) builds the same index without a system-check warning.
            models.Index(fields=["incident", "amount_at_stake"], name="case_open_totals",
                         condition=~Q(status="resolved")),
            # Days late: when the money was due (the case's opening without a swipe).
            models.Index(Coalesce("due_at", "opened_at"), "id", name="case_open_by_due",
                         condition=~Q(status="resolved")),
            # The search box's last 4 digits.
            models.Index(fields=["card_last4"], name="case_open_by_last4", condition=~Q(status="resolved")),
            # The missed-arrival scan: promised arrivals not yet found missed, by time.
            models.Index(
                fields=["new_expected_by"], name="case_promise_unmissed",
                condition=Q(new_expected_by__isnull=False, arrival_missed_at__isnull=True) & ~Q(status="resolved"),
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args, **kwargs):
        # A new case copies its swipe's due time and card digits (no query when the swipe is at hand).
        if self._state.adding and self.transaction_id and (self.due_at is None or not self.card_last4):
            txn = self.transaction
            if self.due_at is None:
                self.due_at = txn.expected_by
            self.card_last4 = self.card_last4 or txn.masked_pan[-4:]
        super().save(*args, **kwargs)


class CaseEntry(models.Model):
    """A case's history: every staff action, contact, note, and merchant message."""

    class Kind(models.TextChoices):
        OPENED = "opened", _("Opened")
        CLAIMED = "claimed", _("Claimed")
        ASSIGNED = "assigned", _("Assigned")
        NOTE = "note", _("Note")
        CONTACT = "contact", _("Contact with acquirer/bank")
        FOLLOW_UP = "follow_up", _("Follow-up set")
        ESCALATED = "escalated", _("Escalated")
        CAUSE = "cause", _("Cause updated")
        MERCHANT_MESSAGE = "merchant_message", _("Message from merchant")
        STAFF_REPLY = "staff_reply", _("Reply to merchant")
        RESOLVED = "resolved", _("Resolved")
        REOPENED = "reopened", _("Reopened")
        DATA_ERROR = "data_error", _("Contradicting data received")
        STATUS_RECORDED = "status_recorded", _("Status recorded by staff")
        NEW_ARRIVAL = "new_arrival", _("New expected arrival")
        ARRIVAL_MISSED = "arrival_missed", _("Expected arrival passed")
        WAITING = "waiting", _("Waiting (SLA paused)")
        RESUMED = "resumed", _("Resumed (SLA running)")

    # Indexed by caseentry_case_created (case first), so no separate FK index.
    case = models.ForeignKey(FollowUpCase, on_delete=models.CASCADE, related_name="entries", db_index=False)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    body = models.TextField(blank=True)
    # For contacts: who was reached, and their ticket/reference number.
    contact_party = models.CharField(max_length=100, blank=True)
    contact_reference = models.CharField(max_length=100, blank=True)
    data = models.JSONField(default=dict, blank=True)
    visible_to_merchant = models.BooleanField(default=False)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="caseentry_case_created")]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class Notification(models.Model):
    """What a merchant is told: in-app, and by email in the merchant's language."""

    class Kind(models.TextChoices):
        LATE = "late", _("Payment late")
        ARRIVED = "arrived", _("Payment arrived")
        CASE_UPDATE = "case_update", _("Update on your inquiry")
        RESCHEDULED = "rescheduled", _("Expected arrival updated")
        HOLIDAY_PLAN = "holiday_plan", _("Holiday settlement plan")

    # Indexed by notification_merchant_recent (merchant first), so no separate FK index.
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    transaction = models.ForeignKey(
        "settlement.Transaction", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    case = models.ForeignKey(FollowUpCase, on_delete=models.SET_NULL, null=True, blank=True, related_name="notifications")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # Rendered at display time in the reader's language; data holds the facts.
    data = models.JSONField(default=dict, blank=True)
    # The swipe's late_round when written: a swipe late again after a reschedule is told again.
    late_round = models.PositiveSmallIntegerField(default=0, db_default=0)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    # The email outbox (settlement.services.notifications): the row is the work item.
    emailed_at = models.DateTimeField(null=True, blank=True, help_text=_("When the email was sent"))
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_next_attempt_at = models.DateTimeField(
        null=True, blank=True,
        help_text=_("When the sweeper may (re)try the email; while a sender holds it, the end of its lease. "
                    "Empty once sent or given up."),
    )
    email_last_error = models.CharField(max_length=500, blank=True, default="")
    email_gave_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # Never more than one message per swipe per state (and late spell), however
            # often detection runs.
            models.UniqueConstraint(
                fields=["transaction", "kind", "late_round"],
                condition=Q(transaction__isnull=False) & Q(kind__in=["late", "arrived"]),
                name="notification_once_per_txn_state",
            ),
            # A row is sent or given up, never both; either way it has left the outbox.
            models.CheckConstraint(
                condition=Q(emailed_at__isnull=True) | Q(email_gave_up_at__isnull=True),
                name="notification_email_sent_xor_gave_up",
            ),
            models.CheckConstraint(
                condition=(Q(emailed_at__isnull=True) & Q(email_gave_up_at__isnull=True))
                | Q(email_next_attempt_at__isnull=True),
                name="notification_email_done_leaves_outbox",
            ),
        ]
        indexes = [
            models.Index(fields=["merchant", "-created_at"], name="notification_merchant_recent"),
            # The sweeper's claim and the /healthz backlog: only rows still in the outbox.
            models.Index(
                fields=["email_next_attempt_at"], condition=Q(email_next_attempt_at__isnull=False),
                name="notification_email_due",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.merchant_id}"


class ReplyTemplate(models.Model):
    """A canned reply to merchants (a macro), managed in the admin by supervisors.
    Placeholders: {merchant_name} {amount} {expected_by} {new_expected_by}
    {case_reference} {cause}, filled with the case's facts in the merchant's language."""

    name = models.CharField(max_length=100)
    body_zh = models.TextField(help_text=_("Chinese text"))
    body_en = models.TextField(help_text=_("English text"))
    active = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name"], name="replytemplate_unique_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
