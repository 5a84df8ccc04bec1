"""A way in: the invitation link's page (public) and the owner's team page."""

from django import forms
from django.contrib.auth import authenticate, login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache

from merchants import selectors
from merchants.invitations import (
    InvitationError,
    invitation_accept,
    invitation_create,
    invitation_for_token,
    invitation_send,
)
from merchants.models import Invitation, Membership
from merchants.phone_login import PhoneLoginError, login_code_send, normalize_phone


class AcceptForm(forms.Form):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    password1 = forms.CharField(label=gettext_lazy("Password (at least 12 characters)"), widget=forms.PasswordInput)
    password2 = forms.CharField(label=gettext_lazy("The same password again"), widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password1") != data.get("password2"):
            raise forms.ValidationError(gettext_lazy("The two passwords are not the same."), code="password_mismatch")
        return data


@never_cache
def invite_accept(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_for_token(token=token)
    except InvitationError as exc:
        return render(request, "merchants/invite_accept.html", {"error": exc.message}, status=410)
    form = AcceptForm(request.POST or None, initial={"username": invitation.email})
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(token=token, username=form.cleaned_data["username"],
                                     password=form.cleaned_data["password1"])
        except InvitationError as exc:
            form.add_error("password1" if exc.code == "password_weak" else None, exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            request.session[selectors.SESSION_KEY] = invitation.merchant_id
            return redirect("merchants:home")
    status = 400 if form.is_bound else 200
    return render(request, "merchants/invite_accept.html", {"form": form, "invitation": invitation}, status=status)


class InviteCashierForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Their email (optional)"), required=False)


def team_page(request: HttpRequest, merchant, base_context: dict) -> HttpResponse:
    """The owner's people: members, open invitations, and inviting a cashier."""
    form = InviteCashierForm(request.POST or None)
    link = sent = None
    if request.method == "POST" and form.is_valid():
        new = invitation_create(merchant=merchant, role=Membership.Role.CASHIER, email=form.cleaned_data["email"],
                                created_by=request.user)
        sent = invitation_send(new=new, base_url=request.build_absolute_uri("/"))
        link = request.build_absolute_uri(new.path)
        form = InviteCashierForm()
    members = Membership.objects.filter(merchant=merchant).select_related("user").order_by("role", "user__username")
    pending = Invitation.objects.filter(merchant=merchant, accepted_at__isnull=True).order_by("-created_at")[:20]
    context = {**base_context, "form": form, "members": members, "pending": pending, "link": link, "sent": sent,
               "message": _("Send this link to your cashier (by SMS or chat). It works once.") if link else ""}
    return render(request, "merchants/team.html", context)


@never_cache
def phone_login(request: HttpRequest) -> HttpResponse:
    """Step 1: the phone number, a code is sent. Step 2 (step=code): the code, logged in."""
    phone = (request.POST.get("phone") or "").strip()
    context: dict = {"phone": phone, "step": "phone"}
    if request.method == "POST" and request.POST.get("step") == "code":
        user = authenticate(request, username=phone_or_raw(phone), code=request.POST.get("code", ""))
        if user is not None:
            login(request, user)
            return redirect("home")
        locked = getattr(request, "axes_locked_out", False)
        context.update(step="code", error=_("Too many failed attempts; please try again later.") if locked
                       else _("That code is not right or has expired."))
        return render(request, "registration/phone_login.html", context, status=403 if locked else 400)
    if request.method == "POST":
        try:
            login_code_send(phone=phone)
        except PhoneLoginError as exc:
            context["error"] = exc.message
            return render(request, "registration/phone_login.html", context, status=400)
        context["step"] = "code"
    return render(request, "registration/phone_login.html", context)


def phone_or_raw(phone: str) -> str:
    try:
        return normalize_phone(phone)
    except PhoneLoginError:
        return phone
