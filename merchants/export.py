"""The swipes CSV as merchants open it: in Excel or WPS, by double-click.

- UTF-8 with a BOM, so both read the Chinese headers.
- Identifiers (reference, card, terminal, bank credit, case) stay text: a 12-digit
  reference would otherwise show as 1.00001E+11 and lose digits. They start with a
  zero-width space (U+200B), which neither program shows and which stops it reading a
  number or a date; the find page ignores it when one is pasted back.
- Every cell a spreadsheet would evaluate (= + - @, tab, CR) is made inert first by
  config.csv_safety (a leading apostrophe), and then needs no other marker.
- Amounts stay numbers (two decimals), times are local ("2026-12-02 10:00:00").
"""

import csv
from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils.translation import gettext as _

from config.csv_safety import safe_cell, safe_row
from merchants.presentation import status_label
from settlement.lifecycle import FINAL_STATUSES, Status
from settlement.models import FollowUpCase, Transaction

TEXT_MARK = "\u200b"


def as_text(value: str) -> str:
    """An identifier that Excel and WPS keep as typed."""
    if not value:
        return ""
    inert = safe_cell(value)
    return inert if inert != value else TEXT_MARK + value


def strip_text_mark(value: str) -> str:
    return value.replace(TEXT_MARK, "")


def headers() -> list[str]:
    return [_("Reference"), _("Time"), _("Amount"), _("Fee"), _("Net"), _("Status"), _("Card"), _("Terminal"),
            _("Expected by"), _("Arrived at"), _("Bank credit"), _("Late since"), _("Case")]


def with_case(rows: QuerySet[Transaction]) -> QuerySet[Transaction]:
    """The swipe's latest case, open or resolved: the reference staff will ask for."""
    latest = FollowUpCase.objects.filter(transaction=OuterRef("pk")).order_by("-opened_at", "-id")
    return rows.annotate(export_case=Subquery(latest.values("reference")[:1]))


class _Echo:
    def write(self, value: str) -> str:
        return value


def lines(rows: Iterable[Transaction], *, tz: ZoneInfo) -> Iterator[str]:
    """The CSV text, a line at a time (streamed). Call inside the request's language:
    the labels are resolved before the first line is written."""
    labels = {value: status_label(value) for value in Status.values}
    head = headers()

    def fmt(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if value else ""

    def generate() -> Iterator[str]:
        writer = csv.writer(_Echo())
        yield "\ufeff" + writer.writerow(safe_row(head))
        for txn in rows:
            late = txn.delayed_since if txn.status not in FINAL_STATUSES else None
            yield writer.writerow(safe_row([
                as_text(txn.reference), fmt(txn.captured_at), f"{txn.amount:.2f}", f"{txn.fee:.2f}", f"{txn.net:.2f}",
                labels.get(txn.status, txn.status), as_text(txn.masked_pan),
                as_text(txn.terminal.serial_number if txn.terminal else ""), fmt(txn.expected_by),
                fmt(txn.credited_at), as_text(txn.payout.reference if txn.payout else ""), fmt(late),
                as_text(getattr(txn, "export_case", None) or ""),
            ]))

    return generate()
