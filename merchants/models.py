from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from settlement.arrival import Cycle


class Merchant(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        RISK_FROZEN = "risk_frozen", _("Risk-frozen")

    merchant_no = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="merchants")
    settlement_cycle = models.CharField(max_length=2, choices=Cycle.choices, default=Cycle.T1)
    fee_rate_bps = models.PositiveIntegerField(default=60, help_text=_("Fee in basis points: 60 = 0.60%"))
    account_bank = models.CharField(max_length=100, blank=True)
    account_holder = models.CharField(max_length=100, blank=True)
    # Only the last 4 digits of the settlement account are ever stored.
    account_last4 = models.CharField(max_length=4, blank=True)
    contact_email = models.EmailField(blank=True)
    contact_phone = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    timezone = models.CharField(max_length=64, default="Asia/Shanghai")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(settlement_cycle__in=Cycle.values), name="merchant_cycle_valid"),
            models.CheckConstraint(
                condition=Q(status__in=["active", "suspended", "risk_frozen"]), name="merchant_status_valid"
            ),
            models.CheckConstraint(condition=Q(fee_rate_bps__lte=10000), name="merchant_fee_rate_sane"),
            models.CheckConstraint(
                condition=Q(account_last4="") | Q(account_last4__regex=r"^[0-9]{4}$"),
                name="merchant_account_last4_only",
            ),
        ]
        ordering = ["merchant_no"]

    def __str__(self) -> str:
        return f"{self.name} ({self.merchant_no})"


class Terminal(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="terminals")
    serial_number = models.CharField(max_length=64)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # A serial is unique within its merchant; the API looks terminals up by it.
            models.UniqueConstraint(fields=["merchant", "serial_number"], name="terminal_unique_per_merchant"),
        ]

    def __str__(self) -> str:
        return self.serial_number


class Membership(models.Model):
    """A user's access to a merchant. Every merchant-facing query is scoped by these."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        CASHIER = "cashier", _("Cashier")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.OWNER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "merchant"], name="membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.merchant}"


class Invitation(models.Model):
    """A one-time link that lets a new merchant user set a password and join a shop.
    Only the SHA-256 of the token is stored: the link itself is shown or mailed once."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=10, choices=Membership.Role.choices, default=Membership.Role.OWNER)
    email = models.EmailField(blank=True)
    # Optional mainland mobile (11 digits): becomes the new user's phone login on accept.
    phone = models.CharField(max_length=11, blank=True, default="")
    token_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            # The accept page looks the token up by its hash.
            models.UniqueConstraint(fields=["token_hash"], name="invitation_unique_token"),
            models.CheckConstraint(condition=Q(role__in=["owner", "cashier"]), name="invitation_role_valid"),
            models.CheckConstraint(condition=Q(phone="") | Q(phone__regex=r"^1[3-9][0-9]{9}$"),
                                   name="invitation_phone_cn_mobile"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="invitation_expires_later"),
            models.CheckConstraint(
                condition=Q(accepted_at__isnull=True) | Q(accepted_at__lte=models.F("expires_at")),
                name="invitation_accepted_in_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} @ {self.merchant_id}"


class UserPhone(models.Model):
    """The mobile number a merchant user logs in with (phone + one-time code)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="phone")
    phone = models.CharField(max_length=20, help_text=_("Digits only, with the country code: 8613800138000"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["phone"], name="userphone_unique_phone"),
            models.CheckConstraint(condition=Q(phone__regex=r"^[0-9]{8,15}$"), name="userphone_digits_only"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ···{self.phone[-4:]}"


class LoginCode(models.Model):
    """A one-time login code sent by SMS. Only its keyed hash is stored; it works once,
    for a few minutes, and a few wrong tries burn it (merchants.phone_login)."""

    phone = models.CharField(max_length=20)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")), name="logincode_expires_later"),
        ]
        indexes = [
            # The latest code of a phone, and the send rate limit's window count.
            models.Index(fields=["phone", "-created_at"], name="logincode_phone_recent"),
        ]

    def __str__(self) -> str:
        return f"···{self.phone[-4:]} {self.created_at:%H:%M}"
