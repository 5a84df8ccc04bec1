from django.contrib import admin

from channels.calendar_edit import ORDINARY, calendar_day_set, calendar_year_mark, channel_rules_changed
from channels.models import BusinessCalendar, CalendarDay, CalendarYear, Channel, ChannelSecret, WorkerHeartbeat


def _ring() -> None:
    """Start the recompute now (the beat task picks it up within 30 s anyway)."""
    from django.db import transaction

    from settlement.tasks import recompute_deadlines

    transaction.on_commit(recompute_deadlines.delay)


class CalendarYearInline(admin.TabularInline):
    model = CalendarYear
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "updated_at"]
    inlines = [CalendarYearInline]

    def save_formset(self, request, form, formset, change):
        if formset.model is not CalendarYear:
            return super().save_formset(request, form, formset, change)
        # Years go through the calendar door, so completing one recomputes deadlines.
        for year_form in formset.forms:
            data = getattr(year_form, "cleaned_data", None) or {}
            if not data or not data.get("year") or data.get("DELETE"):
                continue
            if calendar_year_mark(calendar=form.instance, year=data["year"], complete=bool(data.get("complete")),
                                  source=data.get("source") or "admin"):
                _ring()
        for obj in formset.deleted_objects if hasattr(formset, "deleted_objects") else []:
            obj.delete()
        return None


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "kind", "name", "calendar"]
    list_filter = ["calendar", "kind"]
    date_hierarchy = "date"
    search_fields = ["name"]

    # Every write goes through channels.calendar_edit: the cache is cleared and the
    # in-flight deadlines that depend on the day are recomputed.
    def save_model(self, request, obj, form, change):
        if change and "date" in form.changed_data:
            calendar_day_set(calendar=obj.calendar, day=form.initial["date"], kind=ORDINARY, source="admin")
        if calendar_day_set(calendar=obj.calendar, day=obj.date, kind=obj.kind, name=obj.name,
                            source="admin").recompute_id:
            _ring()
        obj.pk = CalendarDay.objects.get(calendar=obj.calendar, date=obj.date).pk  # for the admin's log

    def delete_model(self, request, obj):
        if calendar_day_set(calendar=obj.calendar, day=obj.date, kind=ORDINARY, source="admin").recompute_id:
            _ring()

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # In-flight swipes of this channel get deadlines under the new rules.
        if change and channel_rules_changed(channel=obj, fields=form.changed_data, source="admin"):
            _ring()


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "beat_at"]
    readonly_fields = ["name", "beat_at"]
