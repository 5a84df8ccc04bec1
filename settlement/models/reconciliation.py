"""Reconciliation (对账): stored settlement files, a run per file, a result per line or
swipe, and breaks (the non-matched results) worked by staff across runs."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class SettlementFile(models.Model):
    """An acquirer's daily settlement file, stored once per content (sha256 per channel).
    A different file for the same channel and business date supersedes the current one."""

    class Source(models.TextChoices):
        API = "api", _("Signed API")
        UPLOAD = "upload", _("Staff upload")
        PULL = "pull", _("Daily pull")

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX"

    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="settlement_files",
                                db_index=False)
    business_date = models.DateField()
    content_hash = models.CharField(max_length=64, help_text=_("sha256 of the bytes as received"))
    content = models.BinaryField(help_text=_("The file as received"))
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.CSV)
    encoding = models.CharField(max_length=16, help_text=_("Detected: utf-8, utf-8-sig, gbk, gb18030 (xlsx: -)"))
    filename = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=6, choices=Source.choices)
    line_count = models.PositiveIntegerField(default=0)
    is_current = models.BooleanField(default=True, help_text=_("The latest file for its channel and date"))
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="superseded_by")
    received_at = models.DateTimeField()
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")

    class Meta:
        constraints = [
            # A re-delivery of the same bytes is a duplicate (the door answers with the first run).
            models.UniqueConstraint(fields=["channel", "content_hash"], name="sfile_unique_content"),
            # One current file per channel and business date; older ones are the trail.
            models.UniqueConstraint(fields=["channel", "business_date"], condition=Q(is_current=True),
                                    name="sfile_one_current_per_date"),
            models.CheckConstraint(condition=Q(source__in=["api", "upload", "pull"]), name="sfile_source_valid"),
            models.CheckConstraint(condition=Q(format__in=["csv", "xlsx"]), name="sfile_format_valid"),
        ]
        indexes = [
            # The staff page lists files of a channel by date.
            models.Index(fields=["channel", "-business_date"], name="sfile_channel_date"),
        ]
        ordering = ["-business_date", "-received_at"]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.business_date} {self.content_hash[:8]}"


class ResultKind(models.TextChoices):
    MATCHED = "matched", _("Matched")
    AMOUNT_MISMATCH = "amount_mismatch", _("Amount mismatch")
    FEE_MISMATCH = "fee_mismatch", _("Fee mismatch")
    STATUS_MISMATCH = "status_mismatch", _("Status mismatch")
    MISSING_IN_FILE = "missing_in_file", _("Missing in file")
    UNKNOWN_TO_US = "unknown_to_us", _("Unknown to us")
    DUPLICATE_IN_FILE = "duplicate_in_file", _("Duplicate in file")


class BreakKind(models.TextChoices):
    AMOUNT_MISMATCH = "amount_mismatch", _("Amount mismatch")
    FEE_MISMATCH = "fee_mismatch", _("Fee mismatch")
    STATUS_MISMATCH = "status_mismatch", _("Status mismatch")
    MISSING_IN_FILE = "missing_in_file", _("Missing in file")
    UNKNOWN_TO_US = "unknown_to_us", _("Unknown to us")
    DUPLICATE_IN_FILE = "duplicate_in_file", _("Duplicate in file")
    FILE_MISSING = "file_missing", _("Settlement file missing")


class ReconciliationRun(models.Model):
    """One file reconciled against our swipes of its channel and business date."""

    file = models.OneToOneField(SettlementFile, on_delete=models.PROTECT, related_name="run")
    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="+", db_index=False)
    business_date = models.DateField()
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    line_count = models.PositiveIntegerField()
    file_total = models.DecimalField(max_digits=16, decimal_places=2, help_text=_("Sum of the file's amounts"))
    our_total = models.DecimalField(max_digits=16, decimal_places=2,
                                    help_text=_("Sum of our amounts of the swipes the results name"))
    fuzzy_matches = models.PositiveIntegerField(default=0)
    totals = models.JSONField(default=dict, help_text=_('{kind: {"count": n, "file": "x.xx", "ours": "y.yy"}}'))

    class Meta:
        indexes = [
            # Runs of a channel by date (staff page, break lifecycle).
            models.Index(fields=["channel", "-business_date"], name="rrun_channel_date"),
        ]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"run {self.pk} {self.channel_id}:{self.business_date}"


class ReconciliationResult(models.Model):
    """One line of the file, or one of our swipes the file does not list."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="results", db_index=False)
    kind = models.CharField(max_length=20, choices=ResultKind.choices)
    line = models.PositiveIntegerField(null=True, blank=True, help_text=_("Line in the file; empty: only ours"))
    reference = models.CharField(max_length=64, blank=True)
    fuzzy = models.BooleanField(default=False, help_text=_("Matched by merchant, terminal, amount and time"))
    # No database FK: a million-line run would pay a million RI checks at commit, and swipes
    # are never deleted (Transaction has no delete path; PROTECT guards the ORM).
    transaction = models.ForeignKey("settlement.Transaction", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", db_index=False, db_constraint=False)
    merchant_no = models.CharField(max_length=32, blank=True)
    file_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    file_fee = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    file_status = models.CharField(max_length=10, blank=True)
    our_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    our_fee = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    our_status = models.CharField(max_length=10, blank=True)
    break_key = models.CharField(max_length=200, blank=True, help_text=_("Its break's key; empty when matched"))

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=list(ResultKind.values)), name="rresult_kind_valid"),
            # A line result has a line; missing_in_file is exactly the results without one.
            models.CheckConstraint(
                condition=(Q(kind="missing_in_file") & Q(line__isnull=True) & Q(transaction__isnull=False))
                | (~Q(kind="missing_in_file") & Q(line__isnull=False)),
                name="rresult_line_unless_missing",
            ),
        ]
        indexes = [
            # A run's results by kind (API answer, staff run page, breaks update: its
            # non-matched kinds by name, so a million matched rows are never read).
            models.Index(fields=["run", "kind"], name="rresult_run_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.reference or self.line}"


class ReconciliationBreak(models.Model):
    """A non-matched result as a piece of work. The same break (channel, date, kind, key)
    seen by a later run persists; a later run that no longer shows it resolves it."""

    class Status(models.TextChoices):
        NEW = "new", _("New")
        PERSISTING = "persisting", _("Persisting")
        RESOLVED = "resolved", _("Resolved")

    class Resolution(models.TextChoices):
        AUTO = "auto", _("Matched by a later run")
        STAFF = "staff", _("Resolved by staff")

    OPEN_STATUSES = (Status.NEW, Status.PERSISTING)

    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="+", db_index=False)
    business_date = models.DateField()
    kind = models.CharField(max_length=20, choices=BreakKind.choices)
    key = models.CharField(max_length=200, help_text=_("What identifies it across runs: the reference, or the line"))
    reference = models.CharField(max_length=64, blank=True)
    transaction = models.ForeignKey("settlement.Transaction", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+", db_index=False)
    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", db_index=False)
    merchant_no = models.CharField(max_length=32, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=0,
                                 help_text=_("The money in question (theirs or ours)"))
    difference = models.DecimalField(max_digits=14, decimal_places=2, default=0, help_text=_("Theirs - ours"))
    detail = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    first_run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+", db_index=False)
    last_run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+", db_index=False)
    seen_count = models.PositiveIntegerField(default=1)
    resolution = models.CharField(max_length=5, choices=Resolution.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    resolved_by_run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+", db_index=False)
    resolution_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=list(BreakKind.values)), name="rbreak_kind_valid"),
            models.CheckConstraint(condition=Q(status__in=["new", "persisting", "resolved"]),
                                   name="rbreak_status_valid"),
            # Resolved exactly when it says how; staff always give a reason.
            models.CheckConstraint(
                condition=(Q(status="resolved") & Q(resolved_at__isnull=False)
                           & ((Q(resolution="auto") & Q(resolved_by_run__isnull=False))
                              | (Q(resolution="staff") & Q(resolved_by__isnull=False) & ~Q(resolution_reason=""))))
                | (~Q(status="resolved") & Q(resolution="") & Q(resolved_at__isnull=True)),
                name="rbreak_resolution_consistent",
            ),
            # One live break per thing; a staff-resolved one stays the record (a later run
            # seeing it again does not reopen it), auto-resolved ones are history.
            models.UniqueConstraint(
                fields=["channel", "business_date", "kind", "key"],
                condition=~Q(resolution="auto"),
                name="rbreak_one_live_per_key",
            ),
        ]
        indexes = [
            # The staff page: open breaks, oldest first.
            models.Index(fields=["first_seen_at"], name="rbreak_open_age",
                         condition=Q(status__in=["new", "persisting"])),
            # A swipe's breaks (case page).
            models.Index(fields=["transaction"], name="rbreak_transaction", condition=Q(transaction__isnull=False)),
        ]
        ordering = ["first_seen_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class SettlementFilePull(models.Model):
    """The daily pull of one channel's file for one business date: retried until it arrives.
    Past `missing_after` without a file, a file_missing break is opened."""

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+", db_index=False)
    business_date = models.DateField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    missing_after = models.DateTimeField()
    last_error = models.CharField(max_length=200, blank=True)
    file = models.ForeignKey(SettlementFile, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "business_date"], name="sfpull_unique"),
        ]
        indexes = [
            # The beat task claims due pulls that have not arrived.
            models.Index(fields=["next_attempt_at"], name="sfpull_due", condition=Q(done_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"pull {self.channel_id}:{self.business_date}"
