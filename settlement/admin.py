from django.contrib import admin

from settlement.models import Payout, SettlementEvent, Transaction


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
