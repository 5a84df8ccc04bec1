from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from channels.poll_signing import poll_url_problem


def validate_poll_url(url: str) -> None:
    if url and poll_url_problem(url, plain_http_hosts=settings.POLL_PLAIN_HTTP_HOSTS):
        raise ValidationError(_("The poll URL must use https:// (http:// only for localhost / 127.0.0.1)."),
                              code="insecure_poll_url")


class BusinessCalendar(models.Model):
    """A set of business days (e.g. mainland China). Data, editable by staff, because
    next year's holidays and make-up working days are announced late."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class CalendarYear(models.Model):
    """A year whose holidays are known. A year with no row (or not complete) falls back
    to Monday-Friday and transactions computed from it say `calendar_incomplete`."""

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="years")
    year = models.PositiveSmallIntegerField()
    complete = models.BooleanField(
        default=True, help_text=_("The official schedule (holidays and 调休) is entered.")
    )
    source = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["calendar", "year"], name="calyear_unique"),
        ]
        ordering = ["calendar", "year"]

    def __str__(self) -> str:
        return f"{self.calendar.code} {self.year}"


class CalendarDay(models.Model):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Holiday (day off)")
        WORKDAY = "workday", _("Make-up working day (调休)")

    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.CASCADE, related_name="days")
    date = models.DateField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="calday_unique"),
            models.CheckConstraint(condition=Q(kind__in=["holiday", "workday"]), name="calday_kind_valid"),
        ]
        ordering = ["calendar", "date"]

    def __str__(self) -> str:
        return f"{self.date} {self.get_kind_display()} {self.name}"


class Channel(models.Model):
    """An acquirer / payment platform: its settlement rules, calendar, API, health."""

    class Health(models.TextChoices):
        UP = "up", _("Up")
        DEGRADED = "degraded", _("Degraded")
        DOWN = "down", _("Down")

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    timezone = models.CharField(max_length=64, default="Asia/Shanghai")
    cutoff_time = models.TimeField(default=time(23, 0))
    arrival_by_time = models.TimeField(default=time(18, 0), help_text=_("T1/D1 money arrives by"))
    day_start_time = models.TimeField(default=time(9, 0), help_text=_("T0/D0 next-morning start"))
    same_day_window_minutes = models.PositiveIntegerField(default=120)
    grace_minutes = models.PositiveIntegerField(default=120, help_text=_("Before a swipe is late"))
    calendar = models.ForeignKey(BusinessCalendar, on_delete=models.PROTECT, related_name="channels")
    poll_url = models.URLField(blank=True, validators=[validate_poll_url])
    # Signs our status queries (Standard Webhooks, whsec_...); the acquirer verifies them.
    # Its answers are verified with the channel's signing secrets (ChannelSecret).
    poll_secret = models.CharField(max_length=200, blank=True)
    poll_interval_seconds = models.PositiveIntegerField(default=60)
    poll_enabled = models.BooleanField(default=True)
    health = models.CharField(max_length=10, choices=Health.choices, default=Health.UP)
    health_changed_at = models.DateTimeField(null=True, blank=True)
    consecutive_poll_failures = models.PositiveIntegerField(default=0)
    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_poll_ok_at = models.DateTimeField(null=True, blank=True)
    last_poll_error = models.CharField(max_length=300, blank=True)
    # Our side failing to apply a poll answer (not the acquirer's health): shown to staff.
    poll_apply_error = models.CharField(max_length=300, blank=True, default="", db_default="")
    poll_apply_error_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(health__in=["up", "degraded", "down"]), name="channel_health_valid"),
        ]
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ChannelSecret(models.Model):
    """A Standard Webhooks signing secret (whsec_...). Two may be active while rotating.

    Stored in the clear because HMAC verification needs it; the database is the trust
    boundary (as for Django's own SECRET_KEY-signed data)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="secrets")
    secret = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "secret"], name="chsecret_unique"),
        ]
        indexes = [
            # Verification loads the active secrets of one channel.
            models.Index(fields=["channel", "active"], name="chsecret_channel_active"),
        ]

    def __str__(self) -> str:
        return f"{self.channel.code} secret …{self.secret[-4:]}"


class WorkerHeartbeat(models.Model):
    """Written by the probe task (channels.tasks.worker_heartbeat) each time a worker
    takes it off the broker: the real liveness check, since a worker can reconnect to a
    restarted Redis and still stop consuming (RELIABILITY.md)."""

    name = models.CharField(max_length=200, unique=True, help_text=_("The worker's hostname"))
    beat_at = models.DateTimeField()

    class Meta:
        ordering = ["-beat_at"]

    def __str__(self) -> str:
        return f"{self.name} {self.beat_at:%Y-%m-%d %H:%M:%S}"


class WebhookReceipt(models.Model):
    """An accepted signed write (`webhook-id`) and the answer it got, kept a little
    longer than a signature stays valid: a replay inside the window gets this answer
    back and is never applied again (channels.replay)."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    webhook_id = models.CharField(max_length=200)
    # sha256 of method, path and body: the same id with another request is refused.
    fingerprint = models.CharField(max_length=64)
    received_at = models.DateTimeField()
    # NULL only inside the first delivery's own transaction (the answer is written last).
    status_code = models.PositiveSmallIntegerField(null=True)
    answer = models.BinaryField(default=b"")  # zlib-compressed JSON body

    class Meta:
        constraints = [
            # One answer per (channel, webhook-id): concurrent deliveries race on this.
            models.UniqueConstraint(fields=["channel", "webhook_id"], name="webhook_receipt_unique"),
        ]
        indexes = [
            # The periodic purge deletes the oldest receipts.
            models.Index(fields=["received_at"], name="webhook_receipt_received"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.webhook_id}"
