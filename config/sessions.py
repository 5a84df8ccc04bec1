"""Idle session expiry without a database write on every request.

Sessions end after SESSION_COOKIE_AGE idle seconds (PCI DSS 8.2.8: 15 minutes). Django's
SESSION_SAVE_EVERY_REQUEST would get that by an UPDATE + COMMIT per request, which cost a
logged-in page about three plain ones (bench.dashboard). Instead the expiry is pushed
forward at most once per SESSION_REFRESH_SECONDS, so a session expires between
AGE - REFRESH and AGE seconds after the last real request: never later than promised.

Requests that are not a person's activity (a page polling itself) are marked with
`@session_passive` and never push the expiry, so an open tab still times out.
"""

import time
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse

_LAST_SEEN = "_last_seen"


def session_passive(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view's requests do not count as activity: they never extend the session."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        request.session_passive = True
        return view(request, *args, **kwargs)

    return wrapped


class IdleSessionMiddleware(SessionMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and not getattr(request, "session_passive", False) and not session.is_empty():
            now = int(time.time())
            if now - session.get(_LAST_SEEN, 0) >= settings.SESSION_REFRESH_SECONDS:
                session[_LAST_SEEN] = now  # marks it modified: saved with a fresh expiry
        return super().process_response(request, response)
