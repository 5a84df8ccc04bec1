from django.contrib import admin

from settlement.models import (
    Notification,
    Payout,
    PayoutDiscrepancy,
    PayoutEvent,
    PayoutLine,
    ReplyTemplate,
    SettlementEvent,
    Transaction,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Statuses, links and trails change only through the services (the doors): the
    admin shows them and edits nothing."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # the trail is append-only, written by its service

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class EventInline(ReadOnlyInline):
    model = SettlementEvent
    fields = ["occurred_at", "received_at", "type", "source", "outcome", "from_status", "to_status", "event_id"]


@admin.register(Transaction)
class TransactionAdmin(ReadOnlyAdmin):
    list_display = ["reference", "merchant", "amount", "status", "captured_at", "expected_by", "delayed_since"]
    list_filter = ["status", "channel", "calendar_incomplete"]
    search_fields = ["reference", "merchant__merchant_no"]
    date_hierarchy = "captured_at"
    raw_id_fields = ["merchant", "terminal", "payout"]
    inlines = [EventInline]


@admin.register(SettlementEvent)
class SettlementEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "source", "outcome", "occurred_at", "received_at"]
    list_filter = ["type", "source", "outcome", "channel"]
    search_fields = ["event_id", "transaction__reference"]
    raw_id_fields = ["transaction"]


class PayoutEventInline(ReadOnlyInline):
    model = PayoutEvent
    fields = ["recorded_at", "occurred_at", "kind", "source", "outcome", "from_status", "to_status", "transaction",
              "rule", "reason"]


class PayoutDiscrepancyInline(ReadOnlyInline):
    model = PayoutDiscrepancy
    fields = ["found_at", "amount", "expected", "explained", "difference", "swipe_count", "resolved_at"]


class PayoutLineInline(ReadOnlyInline):
    model = PayoutLine
    fields = ["position", "kind", "amount", "label", "release_date"]


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = ["reference", "merchant", "amount", "status", "sent_at", "credited_at"]
    list_filter = ["status", "channel"]
    search_fields = ["reference", "merchant__merchant_no"]
    raw_id_fields = ["merchant"]
    inlines = [PayoutLineInline, PayoutDiscrepancyInline, PayoutEventInline]


@admin.register(PayoutEvent)
class PayoutEventAdmin(ReadOnlyAdmin):
    list_display = ["payout", "kind", "source", "outcome", "from_status", "to_status", "rule", "recorded_at"]
    list_filter = ["kind", "source", "outcome", "rule"]
    search_fields = ["payout__reference", "transaction__reference"]
    raw_id_fields = ["payout", "transaction"]


@admin.register(PayoutDiscrepancy)
class PayoutDiscrepancyAdmin(ReadOnlyAdmin):
    list_display = ["payout", "amount", "expected", "explained", "difference", "found_at", "resolved_at"]
    list_filter = [("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["payout__reference"]
    raw_id_fields = ["payout"]



@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The email outbox, read-only: why a row is still pending or was given up."""

    list_display = ["id", "kind", "merchant", "created_at", "emailed_at", "email_attempts",
                    "email_next_attempt_at", "email_gave_up_at", "email_last_error"]
    list_filter = ["kind", ("emailed_at", admin.EmptyFieldListFilter),
                   ("email_gave_up_at", admin.EmptyFieldListFilter), ("email_last_error", admin.EmptyFieldListFilter)]
    search_fields = ["merchant__merchant_no", "transaction__reference", "email_last_error"]
    raw_id_fields = ["merchant", "transaction", "case"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # written by the services only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReplyTemplate)
class ReplyTemplateAdmin(admin.ModelAdmin):
    """Supervisors manage the reply templates (macros); the group grants the permissions."""

    list_display = ["name", "active"]
    list_filter = ["active"]
    search_fields = ["name", "body_zh", "body_en"]
    fields = ["name", "active", "body_zh", "body_en"]
