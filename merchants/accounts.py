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
    phone = forms.CharField(label=gettext_lazy("Their mobile number (optional, for logging in by SMS code)"),
                            required=False, max_length=32,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))


class InviteForm(InviteCashierForm):
    """Staff invite any role (the merchant page); the email defaults to contact_email."""

    role = forms.ChoiceField(label=gettext_lazy("Role"), choices=Membership.Role.choices)
    field_order = ["role", "email", "phone"]


def invite_from_form(request: HttpRequest, merchant, form: InviteCashierForm, *, role: str):
    """(link, emailed) of a new invitation, or raises InvitationError (the form keeps
    what was typed). The link is only in this answer: we keep no token to show again."""
    new = invitation_create(merchant=merchant, role=role, email=form.cleaned_data["email"],
                            phone=form.cleaned_data["phone"], created_by=request.user)
    sent = invitation_send(new=new, base_url=request.build_absolute_uri("/"))
    return request.build_absolute_uri(new.path), sent


def members_of(merchant):
    return (Membership.objects.filter(merchant=merchant).select_related("user", "user__phone")
            .order_by("role", "user__username"))


def team_page(request: HttpRequest, merchant, base_context: dict, *, error: tuple[str, str] | None = None,
              status: int = 200) -> HttpResponse:
    """The owner's people: members (role, remove), open invitations, inviting a cashier.
    `error` is (code, text) of a refused role change or removal."""
    posted = request.method == "POST" and error is None
    form = InviteCashierForm(request.POST if posted else None)
    link = sent = None
    if posted and form.is_valid():
        try:
            link, sent = invite_from_form(request, merchant, form, role=Membership.Role.CASHIER)
        except InvitationError as exc:
            form.add_error("phone" if exc.code.startswith("phone") else None, exc.message)
            error, status = (exc.code, exc.message), 400
        else:
            form = InviteCashierForm()
    elif posted:
        status = 400
    pending = Invitation.objects.filter(merchant=merchant, accepted_at__isnull=True).order_by("-created_at")[:20]
    context = {**base_context, "form": form, "members": members_of(merchant), "pending": pending, "link": link,
               "sent": sent, "roles": Membership.Role.choices, "error": error, "me": request.user.pk,
               "message": _("Send this link to your cashier (by SMS or chat). It works once.") if link else ""}
    return render(request, "merchants/team.html", context, status=status)


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
