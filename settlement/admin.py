from django.contrib import admin

from settlement.models import Notification, Payout, SettlementEvent, Transaction


class EventInline(admin.TabularInline):
    model = SettlementEvent
    extra = 0
    can_delete = False
    fields = ["occurred_at", "received_at", "type", "source", "outcome", "from_status", "to_status", "event_id"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # the trail is append-only, written by the status service


@admin.register(Transaction)
class TransactionAdmin(admin.ModelAdmin):
    list_display = ["reference", "merchant", "amount", "status", "captured_at", "expected_by", "delayed_since"]
    list_filter = ["status", "channel", "calendar_incomplete"]
    search_fields = ["reference", "merchant__merchant_no"]
    date_hierarchy = "captured_at"
    raw_id_fields = ["merchant", "terminal", "payout"]
    inlines = [EventInline]

    def get_readonly_fields(self, request, obj=None):
        # Status and deadlines change only through events: nothing is edited here.
        return [f.name for f in self.model._meta.fields]


@admin.register(SettlementEvent)
class SettlementEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "type", "source", "outcome", "occurred_at", "received_at"]
    list_filter = ["type", "source", "outcome", "channel"]
    search_fields = ["event_id", "transaction__reference"]
    raw_id_fields = ["transaction"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Payout)
class PayoutAdmin(admin.ModelAdmin):
    list_display = ["reference", "merchant", "amount", "status", "sent_at", "credited_at"]
    list_filter = ["status", "channel"]
    search_fields = ["reference", "merchant__merchant_no"]
    raw_id_fields = ["merchant"]


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
