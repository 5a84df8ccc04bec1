"""Spreadsheet safety for every CSV/XLSX we write (OWASP "CSV injection").

Excel and WPS evaluate a cell that starts with = + - @ (or a tab / carriage return that
they strip first) as a formula. Any text that came from outside (an acquirer's
reference, a merchant's message) is made inert by a leading apostrophe, which both
programs hide and treat as "this is text".
"""

from collections.abc import Iterable
from typing import Any

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value, or for a string that a spreadsheet would evaluate, the same text made inert.
    Numbers (int, Decimal) are left alone: a negative amount is data, not a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]
