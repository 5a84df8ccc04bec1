"""A deadline recompute to do: the work item behind "stored deadlines follow their
inputs" (DESIGN.md). Written in the same transaction as the change that moves
deadlines (a calendar day, a year marked complete, a channel's rules), worked in
bounded batches by settlement.services.reschedule, so a lost task or Redis loses nothing."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DeadlineRecompute(models.Model):
    class Reason(models.TextChoices):
        CALENDAR_DAY = "calendar_day", _("Calendar day changed")
        CALENDAR_YEAR = "calendar_year", _("Calendar year completed")
        CHANNEL_RULES = "channel_rules", _("Channel settlement rules changed")

    class Phase(models.IntegerChoices):
        ON_TIME = 0, _("Swipes not late")  # keyset (overdue_at, id) over txn_overdue_unflagged
        LATE = 1, _("Swipes already late")  # keyset id over txn_late_inflight
        DONE = 2, _("Done")

    # Exactly one of the two: a calendar edit concerns every channel on that calendar.
    calendar = models.ForeignKey(
        "channels.BusinessCalendar", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    detail = models.JSONField(default=dict, blank=True, help_text=_("What changed, shown in each swipe's trail"))
    since = models.DateTimeField(null=True, blank=True, help_text=_("Only deadlines from here on can move"))
    phase = models.PositiveSmallIntegerField(choices=Phase.choices, default=Phase.ON_TIME)
    cursor_overdue_at = models.DateTimeField(null=True, blank=True)
    cursor_id = models.BigIntegerField(default=0)
    looked_at = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(calendar__isnull=False) & Q(channel__isnull=True))
                | (Q(calendar__isnull=True) & Q(channel__isnull=False)),
                name="recompute_one_scope",
            ),
            models.CheckConstraint(condition=Q(done_at__isnull=True) | Q(phase=2), name="recompute_done_is_phase_done"),
        ]
        indexes = [
            # The beat task picks up unfinished requests (a lost doorbell is re-derived here).
            models.Index(fields=["created_at"], name="recompute_pending", condition=Q(done_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"recompute {self.pk} {self.reason}"


class HolidayPlan(models.Model):
    """What a merchant was told before a holiday period of its channel's calendar: when
    the money swiped during it arrives. One row per merchant and holiday (the constraint
    makes two concurrent senders send once); a later calendar change that alters the plan
    bumps `version` and the merchant is told again ("更新")."""

    merchant = models.ForeignKey("merchants.Merchant", on_delete=models.CASCADE, related_name="+")
    calendar = models.ForeignKey("channels.BusinessCalendar", on_delete=models.CASCADE, related_name="+")
    period_start = models.DateField()
    period_end = models.DateField()
    name = models.CharField(max_length=100, blank=True)
    plan = models.JSONField(default=dict, help_text=_("The dates told, in the merchant's own cycle"))
    version = models.PositiveSmallIntegerField(default=1)
    sent_at = models.DateTimeField()
    in_transit_sent_at = models.DateTimeField(
        null=True, blank=True, help_text=_("When the period began and the merchant was told its money in transit")
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "calendar", "period_start"],
                                    name="holidayplan_once_per_merchant_holiday"),
            models.CheckConstraint(condition=Q(period_end__gte=models.F("period_start")), name="holidayplan_period"),
        ]

    def __str__(self) -> str:
        return f"plan {self.merchant_id} {self.period_start}"
