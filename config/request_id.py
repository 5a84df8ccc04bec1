"""A request id on every log line (issue 14 item 4).

Accepted from `X-Request-ID` when it looks like an id (a proxy or the client chose it),
generated otherwise, returned in the response header. Tasks enqueued while a request
runs carry it in a message header and their log lines show it too.
"""

import base64
import logging
import re
import secrets
from contextvars import ContextVar

from celery import signals
from django.core.signals import request_finished
from django.dispatch import receiver

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
HEADER = "X-Request-ID"
TASK_HEADER = "request_id"
# Printable and short: a header is logged, so it must not inject lines or fill disks.
_VALID = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")


def new_request_id() -> str:
    """32 characters of base32 (a-z, 2-7). A uuid4's hex held 13+ digits in a row in
    about one id in 50 and looked like a card number to a log scan (settlement.pan) in
    one in 500, which made test_no_card_number_stored flaky; with 6 digits among 32
    symbols a 13-digit run comes about once in 10^8 ids."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").lower()


def request_id_from(value: str | None) -> str:
    return value if value and _VALID.match(value) else new_request_id()


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(HEADER))
        request.request_id = request_id
        # Cleared at request_finished, not here: Django logs a 4xx/5xx ("Not Found: ...")
        # after the middleware returns, and that line needs the id too.
        request_id_var.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


@receiver(request_finished)
def _request_done(**_kwargs) -> None:
    request_id_var.set("-")


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` (and the Celery task, inside one) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True


@signals.before_task_publish.connect
def _carry_request_id(headers=None, **_kwargs) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id != "-" and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


@signals.task_prerun.connect
def _task_request_id(task=None, **_kwargs) -> None:
    request = getattr(task, "request", None)
    if request is None:
        return
    value = getattr(request, TASK_HEADER, None) or (getattr(request, "headers", None) or {}).get(TASK_HEADER)
    # An eager task inside a request keeps the request's id; a worker's task takes the header's.
    fallback = request_id_var.get()
    request._request_id_token = request_id_var.set(value if value and _VALID.match(value) else fallback)


@signals.task_postrun.connect
def _task_done(task=None, **_kwargs) -> None:
    token = getattr(getattr(task, "request", None), "_request_id_token", None)
    if token is not None:
        try:
            request_id_var.reset(token)
        except ValueError:  # set in another context: leave the worker's default
            request_id_var.set("-")
