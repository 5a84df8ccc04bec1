"""Invitations (services): staff invite a shop's first user, owners invite cashiers.

The link carries a random token; we keep only its SHA-256, so a database dump opens
no shop. A link works once (a conditional UPDATE claims it) and until it expires.
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from merchants.models import Invitation, Membership, Merchant, UserPhone
from merchants.phone_login import PhoneLoginError, login_phone, normalize_cn_mobile

logger = logging.getLogger(__name__)


class InvitationError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    token: str  # shown or mailed once, never stored

    @property
    def path(self) -> str:
        return reverse("invite-accept", kwargs={"token": self.token})


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_phone(raw: str) -> str:
    """The optional mobile number of an invitation, normalised (11 digits) or ""; a
    number that already logs another user in is refused."""
    if not (raw or "").strip():
        return ""
    try:
        mobile = normalize_cn_mobile(raw)
    except PhoneLoginError as exc:
        raise InvitationError(exc.code, exc.message) from None
    if UserPhone.objects.filter(phone=login_phone(mobile)).exists():
        raise InvitationError("phone_taken", _("This mobile number already logs another user in."))
    return mobile


def invitation_create(*, merchant: Merchant, role: str, email: str = "", phone: str = "", created_by=None,
                      now: datetime | None = None) -> NewInvitation:
    if role not in Membership.Role.values:
        raise InvitationError("invitation_role_invalid", _("Choose owner or cashier."))
    phone = invitation_phone(phone)
    now = now or timezone.now()
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        merchant=merchant, role=role, email=email, phone=phone, token_hash=_hash(token), created_by=created_by,
        created_at=now, expires_at=now + timedelta(hours=settings.INVITATION_VALID_HOURS),
    )
    return NewInvitation(invitation, token)


def invitation_send(*, new: NewInvitation, base_url: str) -> bool:
    """Mails the link to the invitation's address (the console backend prints it in
    development). False when there is no address: staff send the link by SMS."""
    link = base_url.rstrip("/") + new.path
    if not new.invitation.email:
        logger.info("invitation %s for merchant %s: link shown to staff", new.invitation.pk, new.invitation.merchant_id)
        return False
    send_mail(
        subject=_("Your login for %(shop)s") % {"shop": new.invitation.merchant.name},
        message=_("Open this link to set your password (it works once, for %(hours)s hours):\n%(link)s")
        % {"hours": settings.INVITATION_VALID_HOURS, "link": link},
        from_email=None, recipient_list=[new.invitation.email],
    )
    return True


def invitation_for_token(*, token: str, now: datetime | None = None) -> Invitation:
    now = now or timezone.now()
    invitation = Invitation.objects.select_related("merchant").filter(token_hash=_hash(token)).first()
    if invitation is None:
        raise InvitationError("invitation_invalid", _("This link is not valid."))
    if invitation.accepted_at is not None:
        raise InvitationError("invitation_used", _("This link has already been used. Please log in."))
    if invitation.expires_at <= now:
        raise InvitationError("invitation_expired", _("This link has expired. Please ask for a new one."))
    return invitation


@db_transaction.atomic
def invitation_accept(*, token: str, username: str, password: str, now: datetime | None = None):
    """Creates the user and the membership, and uses the link up, all or nothing."""
    now = now or timezone.now()
    invitation = invitation_for_token(token=token, now=now)
    user_model = get_user_model()
    candidate = user_model(username=username, email=invitation.email)
    try:
        password_validation.validate_password(password, user=candidate)
    except ValidationError as exc:
        raise InvitationError("password_weak", " ".join(exc.messages)) from None
    # Claim the link first: of two tabs submitting at once, one wins, the other is "used".
    claimed = Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True, expires_at__gt=now).update(
        accepted_at=now)
    if claimed != 1:
        raise InvitationError("invitation_used", _("This link has already been used. Please log in."))
    try:
        with db_transaction.atomic():
            user = user_model.objects.create_user(username=username, email=invitation.email, password=password)
    except IntegrityError:
        raise InvitationError("username_taken", _("This username is taken; please choose another.")) from None
    Membership.objects.create(user=user, merchant=invitation.merchant, role=invitation.role)
    if invitation.phone:
        _phone_attach(user, invitation)
    Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
    return user


def _phone_attach(user, invitation: Invitation) -> None:
    """The invitation's mobile becomes the user's phone login. Taken meanwhile by someone
    else: the link still works (password login), staff add the phone later."""
    try:
        with db_transaction.atomic():
            UserPhone.objects.create(user=user, phone=login_phone(invitation.phone))
    except IntegrityError:
        logger.warning("invitation %s: phone ···%s already in use, not attached", invitation.pk, invitation.phone[-4:])
