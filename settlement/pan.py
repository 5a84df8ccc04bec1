"""Card-number hygiene: we store first 6 + last 4 at most, and refuse anything that
looks like a full card number (a Luhn-valid run of 13-19 digits) anywhere in input."""

import re

# Digit groups joined by single spaces or dashes ("4111 1111 1111 1111") count as one run.
_DIGIT_RUN = re.compile(r"\d(?:[ -]?\d)*")


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = ord(ch) - 48
        if i % 2 == 1:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def contains_full_pan(text: str) -> bool:
    for match in _DIGIT_RUN.finditer(text):
        run = match.group()
        if len(run) < 13:  # too short to hold 13 digits: most runs (dates, amounts, ids)
            continue
        digits = run.replace(" ", "").replace("-", "")
        if 13 <= len(digits) <= 19 and luhn_valid(digits):
            return True
    return False


def mask_pan(first6: str, last4: str) -> str:
    return f"{first6}******{last4}"
