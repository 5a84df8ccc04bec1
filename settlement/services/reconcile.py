"""Reconciliation of an acquirer's settlement file (CSV) against our records.

The file is compared, not applied: statuses still move only through events. Each line
answers `matched`, `mismatch` (with the differing fields, ours and theirs), `unknown`
(a reference we do not have) or `rejected` (a line we cannot read). One SELECT for the
whole file.
"""

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from channels.models import Channel
from settlement.models import Transaction
from settlement.pan import contains_full_pan

REQUIRED_COLUMNS = ("reference", "amount")
OPTIONAL_COLUMNS = ("fee", "net", "status", "payout_reference")
_MONEY_COLUMNS = ("amount", "fee", "net")


class SettlementFileError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class LineResult:
    line: int
    reference: str
    result: str  # matched / mismatch / unknown / rejected
    code: str = ""
    message: str = ""
    differences: dict[str, dict[str, Any]] = field(default_factory=dict)


def settlement_file_rows(text: str, *, max_lines: int) -> list[tuple[int, dict[str, str]]]:
    """[(line number, row)] from CSV text with a header line. Raises SettlementFileError."""
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise SettlementFileError("invalid_settlement_file", f"The header must name the columns {', '.join(missing)}.")
    reader.fieldnames = header
    rows = []
    try:
        for row in reader:
            if len(rows) >= max_lines:
                raise SettlementFileError("batch_too_large", f"A file may hold at most {max_lines} lines.")
            rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items() if isinstance(k, str)}))
    except csv.Error:
        raise SettlementFileError("invalid_settlement_file", "The file is not valid CSV.") from None
    return rows


def _money(value: str) -> Decimal | None:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount == amount.quantize(Decimal("0.01")) else None


def settlement_file_reconcile(*, channel: Channel, rows: list[tuple[int, dict[str, str]]]) -> list[LineResult]:
    # Lines with a card number are dropped before anything reaches the database.
    clean = {line for line, row in rows if not contains_full_pan("\n".join(row.values()))}
    references = {row.get("reference", "") for line, row in rows if line in clean}
    ours = {
        t["reference"]: t
        for t in Transaction.objects.filter(channel=channel, reference__in=references).values(
            "reference", "amount", "fee", "net", "status", "payout__reference"
        )
    }
    results = []
    for line, row in rows:
        reference = row.get("reference", "")
        if line not in clean:
            # The line is dropped whole: its reference may be the card number itself.
            results.append(LineResult(line, "", "rejected", "full_pan_forbidden",
                                      "A full card number is not accepted in a settlement file."))
            continue
        if not reference:
            results.append(LineResult(line, "", "rejected", "missing_field", "reference is required."))
            continue
        theirs: dict[str, Any] = {}
        bad = [c for c in _MONEY_COLUMNS if row.get(c) and _money(row[c]) is None]
        if bad:
            results.append(LineResult(line, reference, "rejected", "invalid_amount",
                                      f"{', '.join(bad)} must be decimals with at most 2 places."))
            continue
        for column in _MONEY_COLUMNS:
            if row.get(column):
                theirs[column] = _money(row[column])
        if row.get("status"):
            theirs["status"] = row["status"].lower()
        if row.get("payout_reference"):
            theirs["payout__reference"] = row["payout_reference"]
        txn = ours.get(reference)
        if txn is None:
            results.append(LineResult(line, reference, "unknown", "unknown_reference",
                                      "We have no transaction with this reference."))
            continue
        differences = {
            name.replace("__", "_"): {"ours": _show(txn[name]), "theirs": _show(value)}
            for name, value in theirs.items()
            if txn[name] != value
        }
        results.append(LineResult(line, reference, "mismatch" if differences else "matched", differences=differences))
    return results


def _show(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value
