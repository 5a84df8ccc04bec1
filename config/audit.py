"""The audit trail (django-auditlog): who changed which channel setting, secret,
calendar year, membership, payout or API token, when, old -> new. Calendar days are
logged by their one door (channels/calendar_edit.py, one bulk insert per change set).
Registered in settings (AUDITLOG_INCLUDE_TRACKING_MODELS); read on /staff/audit/."""

import contextlib
from contextvars import ContextVar

from auditlog.context import set_actor
from auditlog.middleware import AuditlogMiddleware as _AuditlogMiddleware

from config.login_security import client_ip

# Who is acting, for rows written without a model signal (channels/audit.py). Reset when
# the request or block ends: auditlog's own context value outlives them.
ACTING: ContextVar[dict | None] = ContextVar("audit_acting", default=None)


@contextlib.contextmanager
def acting_as(actor, remote_addr: str | None = None):
    """Outside a request (commands, tests): rows written inside name `actor`."""
    token = ACTING.set({"actor": actor, "remote_addr": remote_addr})
    try:
        with set_actor(actor, remote_addr=remote_addr):
            yield
    finally:
        ACTING.reset(token)


class AuditlogMiddleware(_AuditlogMiddleware):
    """The actor's address as the lockout sees it: never a client-chosen X-Forwarded-For."""

    @staticmethod
    def _get_remote_addr(request):
        return client_ip(request)

    @staticmethod
    def _get_remote_port(request):
        return None

    def __call__(self, request):
        token = ACTING.set({"actor": self._get_actor(request), "remote_addr": self._get_remote_addr(request)})
        try:
            return super().__call__(request)
        finally:
            ACTING.reset(token)


def mask_secret(value: str) -> str:
    """auditlog's default mask keeps half the string; a secret keeps only its last 4."""
    value = str(value or "")
    return f"…{value[-4:]}" if len(value) > 12 else "…"
