"""Merchant API tokens (django-rest-knox): only a SHA-512 digest is stored, the token is
shown once, expires after API_TOKEN_TTL_DAYS and is revoked by its owner on /m/tokens/,
by staff in the admin, or when a membership of its user is removed (with the sessions).
Creation and revocation leave django-auditlog rows (knox.AuthToken is registered)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken


class TokenError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def tokens_of(*, user) -> list[AuthToken]:
    return list(AuthToken.objects.filter(user=user, expiry__gt=timezone.now()).order_by("-created"))


def api_token_create(*, user) -> tuple[AuthToken, str]:
    """Returns (row, token); the token itself is never stored or readable again."""
    key = f"api-token-create:{user.pk}"
    cache.add(key, 0, timeout=3600)
    if cache.incr(key) > settings.API_TOKEN_CREATES_PER_HOUR:
        raise TokenError("too_many_token_requests", "Too many new tokens this hour; try again later.")
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()  # one count at a time
        AuthToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
        if AuthToken.objects.filter(user=user).count() >= settings.API_TOKENS_PER_USER:
            raise TokenError("too_many_tokens", "You already have the most tokens allowed; revoke one first.")
        return AuthToken.objects.create(user=user)


def api_token_revoke(*, user, token_key: str) -> int:
    """Revokes the user's own token(s) shown as `token_key`; another user's are never found."""
    rows = list(AuthToken.objects.filter(user=user, token_key=token_key))
    for row in rows:
        row.delete()  # one by one: each leaves its audit row
    return len(rows)


def user_access_end(*, user_id: int) -> None:
    """Every token and session of the user ends (a membership was removed). Live sessions
    are few (SESSION_IDLE_SECONDS), so decoding them is bounded."""
    for row in AuthToken.objects.filter(user_id=user_id):
        row.delete()
    doomed = [s.session_key for s in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500)
              if str(s.get_decoded().get("_auth_user_id")) == str(user_id)]
    Session.objects.filter(session_key__in=doomed).delete()


def membership_removed(sender, instance, **kwargs) -> None:
    """post_delete of a Membership (admin, cascades): same transaction, so a rolled-back
    removal keeps the access too."""
    user_access_end(user_id=instance.user_id)
