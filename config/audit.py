"""The audit trail (django-auditlog): who changed which channel setting, secret,
calendar year, membership, payout or API token, when, old -> new. Calendar days are
logged by their one door (channels/calendar_edit.py, one bulk insert per change set).
Registered in settings (AUDITLOG_INCLUDE_TRACKING_MODELS); read on /staff/audit/."""

from auditlog.middleware import AuditlogMiddleware as _AuditlogMiddleware

from config.login_security import client_ip


class AuditlogMiddleware(_AuditlogMiddleware):
    """The actor's address as the lockout sees it: never a client-chosen X-Forwarded-For."""

    @staticmethod
    def _get_remote_addr(request):
        return client_ip(request)

    @staticmethod
    def _get_remote_port(request):
        return None
