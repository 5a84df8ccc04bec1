"""Logging filter: no card number reaches a log line (RELIABILITY.md, invariant 5).

Django logs every 4xx with its path (`django.request`), and an acquirer may put a card
number in a path (`GET transactions/<reference>`). Pure Python: loaded by LOGGING before
the apps are ready."""

import logging

from settlement.pan import contains_full_pan, redact_pans


class RedactCardNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if contains_full_pan(message):
            record.msg = redact_pans(message)
            record.args = ()
        return True
