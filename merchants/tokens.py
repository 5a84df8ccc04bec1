"""Merchant API tokens (django-rest-knox): only a SHA-512 digest is stored, the token is
shown once, expires after API_TOKEN_TTL_DAYS and is revoked by its owner on /m/tokens/,
by staff in the admin, or when a membership of its user is removed (with the sessions).
Creation and revocation leave django-auditlog rows (knox.AuthToken is registered).

Token requests are throttled and audited (AuditedTokenAuthentication, the API's token
authentication): every refused token (unknown, expired, wrong secret, malformed) is an
audit row (action "access": the token key presented and its owner if any, the address
as the lockout sees it, when, the result) and a `security` log line. Throttled like the
login lockout, by the pair: API_TOKEN_FAILURES_PER_PAIR refusals of one token key from
one address in API_TOKEN_FAILURE_WINDOW_SECONDS answer 429 without checking any more
(guessing one token's secret stops); API_TOKEN_FAILURES_PER_ADDRESS refusals from one
address answer 429 to that address's unknown token keys only, so a neighbour behind the
same carrier NAT whose token exists is never locked out. Refused creations (too many)
are audited too."""

import logging

from auditlog.models import LogEntry
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header

from config.login_security import client_ip
from settlement.pan import redact_pans

security_log = logging.getLogger("security")


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
        token_audit(result="too_many_token_requests", key="", owner=user.get_username(), actor=user)
        raise TokenError("too_many_token_requests", "Too many new tokens this hour; try again later.")
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()  # one count at a time
        AuthToken.objects.filter(user=user, expiry__lte=timezone.now()).delete()
        too_many = AuthToken.objects.filter(user=user).count() >= settings.API_TOKENS_PER_USER
        if not too_many:
            return AuthToken.objects.create(user=user)
    token_audit(result="too_many_tokens", key="", owner=user.get_username(), actor=user)
    raise TokenError("too_many_tokens", "You already have the most tokens allowed; revoke one first.")


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


# --- token requests: audited and throttled -------------------------------------------
def token_audit(*, result: str, key: str, owner: str | None, address: str | None = None, actor=None,
                path: str = "") -> None:
    """One audit row (django-auditlog, action "access", shown on /staff/audit/ under "API
    token") and one security log line for a refused token request or creation."""
    key = redact_pans(key)
    if address is None:
        from config.audit import ACTING

        address = (ACTING.get() or {}).get("remote_addr")
    LogEntry.objects.create(
        content_type=ContentType.objects.get_for_model(AuthToken), object_pk=key, object_id=None,
        object_repr=(f"{key}… " if key else "") + (f"({owner})" if owner else "(no such token)"),
        action=LogEntry.Action.ACCESS, changes={"result": [None, result]}, actor=actor,
        remote_addr=address, additional_data={"result": result, "owner": owner, "path": path[:200]},
    )
    security_log.warning("api token refused result=%s key=%s owner=%s address=%s path=%s",
                         result, key or "-", owner or "-", address or "-", redact_pans(path[:200]) or "-")


def _counter(name: str) -> int:
    return cache.get(name, 0)


def _count(name: str) -> None:
    cache.add(name, 0, timeout=settings.API_TOKEN_FAILURE_WINDOW_SECONDS)
    try:
        cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=settings.API_TOKEN_FAILURE_WINDOW_SECONDS)


class AuditedTokenAuthentication(TokenAuthentication):
    """knox's token authentication, with refusals audited and throttled (module doc)."""

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.authenticate_header(request).encode().lower():
            return None  # no token offered: another authentication's business
        address = client_ip(request) or "-"
        presented = auth[1].decode("utf-8", "replace") if len(auth) == 2 else ""
        key = presented[:CONSTANTS.TOKEN_KEY_LENGTH]
        pair, per_address = f"api-token-fail:{address}:{key}", f"api-token-fail:{address}"
        wait = settings.API_TOKEN_FAILURE_WINDOW_SECONDS
        if _counter(pair) >= settings.API_TOKEN_FAILURES_PER_PAIR or (
                _counter(per_address) >= settings.API_TOKEN_FAILURES_PER_ADDRESS
                and not (key and AuthToken.objects.filter(token_key=key, expiry__gt=timezone.now()).exists())):
            token_audit(result="throttled", key=key, owner=self._owner(key), address=address, path=request.path)
            raise exceptions.Throttled(wait=wait)
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            owner = self._owner(key)
            result = "malformed" if len(auth) != 2 else ("wrong_secret_or_inactive" if owner else "unknown_or_expired")
            _count(pair)
            _count(per_address)
            token_audit(result=result, key=key, owner=owner, address=address, path=request.path)
            raise

    @staticmethod
    def _owner(key: str) -> str | None:
        if not key:
            return None
        return AuthToken.objects.filter(token_key=key).values_list("user__username", flat=True).first()


try:  # the schema names it like knox's own token (drf-spectacular matches the exact class)
    from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme

    class AuditedTokenScheme(KnoxTokenScheme):
        target_class = "merchants.tokens.AuditedTokenAuthentication"
except ImportError:  # pragma: no cover - drf-spectacular is a requirement
    pass
