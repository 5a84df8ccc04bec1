from django.contrib import admin

from merchants.models import Membership, Merchant, Terminal


class TerminalInline(admin.TabularInline):
    model = Terminal
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["merchant_no", "name", "channel", "settlement_cycle", "status"]
    list_filter = ["channel", "settlement_cycle", "status"]
    search_fields = ["merchant_no", "name"]
    inlines = [TerminalInline, MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "merchant", "role"]
    raw_id_fields = ["user", "merchant"]
