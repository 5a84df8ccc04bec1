"""The staff merchant page (/staff/merchants/<merchant_no>/): a merchant's facts, its
people, and inviting one (issue 13, item 8). Any agent may look; inviting is supervisor
work. The invitation goes through merchants.invitations: emailed to the address given
(the shop's contact_email by default) and, in any case, shown once on this answer for
staff to send by SMS; the optional mobile number becomes the new user's phone login."""

from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from merchants.accounts import InviteForm, invite_from_form, members_of
from merchants.invitations import InvitationError
from merchants.models import Invitation, Membership, Merchant
from settlement.staff.roles import Role, has_role, staff_required


@staff_required
def merchant_page(request: HttpRequest, merchant_no: str) -> HttpResponse:
    merchant = get_object_or_404(
        Merchant.objects.select_related("channel").annotate(terminal_count=Count("terminals", distinct=True)),
        merchant_no=merchant_no)
    may_invite = has_role(request.user, Role.SUPERVISOR)
    initial = {"role": Membership.Role.OWNER, "email": merchant.contact_email}
    form = InviteForm(initial=initial)
    link = sent = error = None
    status = 200
    if request.method == "POST":
        if not may_invite:
            raise PermissionDenied
        form = InviteForm(request.POST)
        if form.is_valid():
            try:
                link, sent = invite_from_form(request, merchant, form, role=form.cleaned_data["role"])
            except InvitationError as exc:
                form.add_error("phone" if exc.code.startswith("phone") else None, exc.message)
                error = exc.code
            else:
                form = InviteForm(initial=initial)
        else:
            error = "invitation_form_invalid"
        status = 400 if error else 200
    pending = Invitation.objects.filter(merchant=merchant, accepted_at__isnull=True).select_related(
        "created_by").order_by("-created_at")[:20]
    return render(request, "settlement/staff/merchant.html", {
        "merchant": merchant, "members": members_of(merchant), "pending": pending, "form": form,
        "may_invite": may_invite, "link": link, "sent": sent, "error": error,
        "link_message": _("Send this link to the new user by SMS; it works once and is not shown again.")
        if link else "",
    }, status=status)
