"""Logging filter: no card number reaches a log line (RELIABILITY.md, invariant 5).

Django logs every 4xx with its path (`django.request`), and an acquirer may put a card
number in a path (`GET transactions/<reference>`). Pure Python: loaded by LOGGING before
the apps are ready."""

import logging
import re

from settlement.pan import _DIGIT_RUN, contains_full_pan


class RedactCardNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if contains_full_pan(message):
            record.msg = _DIGIT_RUN.sub(_redact, message)
            record.args = ()
        return True


def _redact(match: re.Match) -> str:
    return "[redacted]" if contains_full_pan(match.group()) else match.group()
