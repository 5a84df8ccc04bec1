from django.contrib import admin, messages

from merchants.invitations import invitation_create, invitation_send
from merchants.models import Membership, Merchant, Terminal, UserPhone


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
    actions = ["invite_owner"]

    @admin.action(description="Invite the shop's owner (email to the contact address, link shown here)")
    def invite_owner(self, request, queryset):
        # Staff send the shown link by SMS when the shop has no email; it works once.
        for merchant in queryset[:20]:
            new = invitation_create(merchant=merchant, role=Membership.Role.OWNER, email=merchant.contact_email,
                                    created_by=request.user)
            sent = invitation_send(new=new, base_url=request.build_absolute_uri("/"))
            link = request.build_absolute_uri(new.path)
            note = f"emailed to {merchant.contact_email}; " if sent else ""
            self.message_user(request, f"{merchant}: {note}one-time link {link}", messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "merchant", "role"]
    raw_id_fields = ["user", "merchant"]


@admin.register(UserPhone)
class UserPhoneAdmin(admin.ModelAdmin):
    list_display = ["user", "phone"]
    raw_id_fields = ["user"]
    search_fields = ["phone", "user__username"]
