"""Sending a text message: one small interface, the backend chosen by settings.SMS_BACKEND.

A real provider plugs in as a class with `send(*, phone, text)` that raises on failure
(e.g. a wrapper around Aliyun or Tencent Cloud SMS). Development uses the console
backend, which writes the message (and so the code) to the log; tests use the memory one.
"""

import logging
from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("merchants.sms")


class SmsBackend(Protocol):
    def send(self, *, phone: str, text: str) -> None: ...


class ConsoleSmsBackend:
    def send(self, *, phone: str, text: str) -> None:
        logger.warning("SMS to %s: %s", phone, text)


class MemorySmsBackend:
    outbox: list[tuple[str, str]] = []

    def send(self, *, phone: str, text: str) -> None:
        self.outbox.append((phone, text))


@cache
def _backend(path: str) -> SmsBackend:
    return import_string(path)()


def sms_send(*, phone: str, text: str) -> None:
    _backend(settings.SMS_BACKEND).send(phone=phone, text=text)
