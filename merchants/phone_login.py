"""Phone number + one-time code login (services and the auth backend).

Sending is rate-limited per phone (one code a minute, LOGIN_CODE_MAX_PER_HOUR an hour);
an unknown phone gets the same answer as a known one and no SMS. Verifying goes through
django.contrib.auth.authenticate with the phone as the username, so django-axes counts
failures and locks the phone out exactly like a password login.
"""

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from merchants.models import LoginCode, UserPhone
from merchants.sms import sms_send

CODE_VALID = timedelta(minutes=5)
MAX_TRIES_PER_CODE = 5


class PhoneLoginError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def normalize_phone(raw: str) -> str:
    """"+86 138-0013-8000" / "13800138000" -> "8613800138000" (mainland numbers get 86)."""
    digits = re.sub(r"[\s\-()+]", "", raw or "")
    if not digits.isdigit():
        raise PhoneLoginError("phone_invalid", _("Enter a mobile number, e.g. 13800138000."))
    if len(digits) == 11 and digits.startswith("1"):
        digits = "86" + digits
    if not 8 <= len(digits) <= 15:
        raise PhoneLoginError("phone_invalid", _("Enter a mobile number, e.g. 13800138000."))
    return digits


_FULLWIDTH = {ord(c): ord("0") + i for i, c in enumerate("０１２３４５６７８９")} | {ord("＋"): ord("+")}
_CN_MOBILE = re.compile(r"(?:\+86|0086|86)?(1[3-9][0-9]{9})")


def normalize_cn_mobile(raw: str) -> str:
    """A mainland China mobile number as 11 digits starting with 1: "+86 138-0013-8000",
    "0086 13800138000", "(138) 0013 8000" -> "13800138000". Anything else: phone_invalid."""
    text = re.sub(r"[\s\-()（）.]", "", (raw or "").translate(_FULLWIDTH))
    match = _CN_MOBILE.fullmatch(text)
    if match is None:
        raise PhoneLoginError("phone_invalid", _("Enter a mainland China mobile number: 11 digits starting with 1, "
                                                 "e.g. 138 0013 8000 (+86 may be left out)."))
    return match.group(1)


def login_phone(mobile: str) -> str:
    """The form the phone login stores (UserPhone.phone): the country code, then the number."""
    return "86" + mobile


def _hash(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def login_code_send(*, phone: str, now: datetime | None = None) -> None:
    now = now or timezone.now()
    phone = normalize_phone(phone)
    recent = LoginCode.objects.filter(phone=phone, created_at__gt=now - timedelta(hours=1))
    if recent.filter(created_at__gt=now - timedelta(seconds=60)).exists():
        raise PhoneLoginError("code_too_soon", _("A code was just sent; please wait a minute."))
    if recent.count() >= settings.LOGIN_CODE_MAX_PER_HOUR:
        raise PhoneLoginError("code_rate_limited", _("Too many codes for this number; please try again later."))
    code = f"{secrets.randbelow(10**6):06d}"
    # A row even for an unknown phone: the rate limit and the answer are the same for both.
    LoginCode.objects.create(phone=phone, code_hash=_hash(phone, code), created_at=now, expires_at=now + CODE_VALID)
    if UserPhone.objects.filter(phone=phone, user__is_active=True).exists():
        sms_send(phone=phone, text=_("Your login code is %(code)s, valid for 5 minutes. Do not tell anyone.")
                 % {"code": code})


def login_code_check(*, phone: str, code: str, now: datetime | None = None):
    """The user whose latest live code this is, using the code up; else None (a wrong
    try counts against the code, and burns it after MAX_TRIES_PER_CODE)."""
    now = now or timezone.now()
    try:
        phone = normalize_phone(phone)
    except PhoneLoginError:
        return None
    latest = LoginCode.objects.filter(phone=phone, used_at__isnull=True, expires_at__gt=now,
                                      attempts__lt=MAX_TRIES_PER_CODE).order_by("-created_at").first()
    if latest is None:
        return None
    if not hmac.compare_digest(latest.code_hash, _hash(phone, (code or "").strip())):
        LoginCode.objects.filter(pk=latest.pk).update(attempts=F("attempts") + 1)
        return None
    # One use: of two requests with the same code, one wins.
    if LoginCode.objects.filter(pk=latest.pk, used_at__isnull=True).update(used_at=now) != 1:
        return None
    owner = UserPhone.objects.select_related("user").filter(phone=phone, user__is_active=True).first()
    return owner.user if owner else None


class PhoneCodeBackend:
    """authenticate(request, username=<phone>, code=<code>)."""

    def authenticate(self, request, username=None, code=None, **kwargs):
        if code is None or username is None:
            return None
        return login_code_check(phone=username, code=code)

    def get_user(self, user_id):
        from django.contrib.auth import get_user_model

        return get_user_model().objects.filter(pk=user_id, is_active=True).first()
