from django.contrib import admin
from django.utils import timezone

from channels.models import BusinessCalendar, CalendarDay, CalendarYear, Channel, ChannelSecret, WorkerHeartbeat
from channels.selectors import clear_calendar_cache


class CalendarYearInline(admin.TabularInline):
    model = CalendarYear
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "updated_at"]
    inlines = [CalendarYearInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        clear_calendar_cache()


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "kind", "name", "calendar"]
    list_filter = ["calendar", "kind"]
    date_hierarchy = "date"
    search_fields = ["name"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Staff edits must reach expected-arrival computations in this process at once.
        BusinessCalendar.objects.filter(pk=obj.calendar_id).update(updated_at=timezone.now())
        clear_calendar_cache()


class ChannelSecretInline(admin.TabularInline):
    model = ChannelSecret
    extra = 0
    fields = ["masked", "active", "created_at", "deactivated_at"]
    readonly_fields = ["masked", "created_at", "deactivated_at"]

    @admin.display(description="secret")
    def masked(self, obj: ChannelSecret) -> str:
        return f"whsec_…{obj.secret[-4:]}"

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # secrets are created by `manage.py addchannel` / rotation, not typed in


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "health", "consecutive_poll_failures", "last_poll_at", "poll_interval_seconds"]
    list_filter = ["health"]
    search_fields = ["code", "name"]
    readonly_fields = ["health", "health_changed_at", "consecutive_poll_failures", "last_poll_at",
                       "last_poll_ok_at", "last_poll_error", "poll_secret_masked"]
    exclude = ["poll_secret"]  # printed once by `manage.py addchannel`, never typed in or shown
    inlines = [ChannelSecretInline]

    @admin.display(description="poll secret")
    def poll_secret_masked(self, obj: Channel) -> str:
        return f"whsec_…{obj.poll_secret[-4:]}" if obj.poll_secret else "-"


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "beat_at"]
    readonly_fields = ["name", "beat_at"]
