"""Login throttling (django-axes) that an attacker cannot turn against a victim.

Axes locks the (username, address) pair, so ten bad passwords from one address lock
that address out of that account only: the real user elsewhere still logs in. Across
addresses a username only earns a short, capped delay before its password is checked,
which slows guessing from many addresses without ever refusing the right password.
"""

import ipaddress
from datetime import timedelta
from time import sleep

from axes.backends import AxesStandaloneBackend
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest
from django.shortcuts import render
from django.utils import timezone


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the
    X-Forwarded-For entry the outermost trusted proxy saw (entries further left are
    whatever the client chose to send)."""
    remote = request.META.get("REMOTE_ADDR")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    hops = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if h.strip()]
    if len(hops) < count:
        return remote  # not from our proxies: do not trust the header at all
    candidate = hops[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


def username_delay_seconds(username: str | None) -> float:
    """Seconds to wait before checking this username's password: grows with recent
    failures from every address, never beyond LOGIN_USERNAME_DELAY_MAX_SECONDS."""
    if not username:
        return 0.0
    since = timezone.now() - timedelta(hours=settings.AXES_COOLOFF_TIME)
    failures = (
        AccessAttempt.objects.filter(username=username, attempt_time__gte=since)
        .aggregate(n=Sum("failures_since_start"))["n"]
        or 0
    )
    over = failures - settings.LOGIN_USERNAME_DELAY_AFTER
    if over <= 0:
        return 0.0
    return min(settings.LOGIN_USERNAME_DELAY_MAX_SECONDS, over * settings.LOGIN_USERNAME_DELAY_STEP_SECONDS)


class DelayedAxesBackend(AxesStandaloneBackend):
    """Axes' lockout check, preceded by the per-username delay."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if settings.AXES_ENABLED and request is not None:
            delay = username_delay_seconds(username)
            if delay:
                sleep(delay)
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: the translated lockout page, 429 like axes' own."""
    minutes = max(1, round(settings.AXES_COOLOFF_TIME * 60))
    return render(request, "registration/lockout.html", {"minutes": minutes}, status=429)
