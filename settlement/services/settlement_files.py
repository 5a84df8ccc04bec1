"""Reading an acquirer's settlement file (对账单): CSV in UTF-8 / GBK / GB18030, or XLSX.

Parsing is all or nothing: a line we cannot read rejects the file with an error naming
the line, so nothing is half-stored. Amounts become integer fen here, which keeps the
SQL matching exact on PostgreSQL and SQLite alike.
"""

import csv
import gc
import io
import operator
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from settlement.lifecycle import Status
from settlement.pan import contains_full_pan

# Column names as acquirers write them; the first of each is ours.
COLUMNS = {
    "reference": ("reference", "rrn", "参考号", "交易参考号", "检索参考号"),
    "merchant_no": ("merchant_no", "商户号", "商户编号"),
    "terminal_sn": ("terminal_sn", "终端号", "终端编号"),
    "amount": ("amount", "交易金额", "金额"),
    "fee": ("fee", "手续费"),
    "net": ("net", "结算金额", "清算金额"),
    "status": ("status", "状态", "交易状态"),
    "captured_at": ("captured_at", "交易时间"),
}
REQUIRED_COLUMNS = ("reference", "amount")
_ALIASES = {alias.lower(): name for name, aliases in COLUMNS.items() for alias in aliases}
# Chinese status words of the files we have seen, as our statuses.
_STATUS_WORDS = {"已清算": "cleared", "已结算": "settled", "已入账": "credited", "已到账": "credited",
                 "已退货": "refunded", "已撤销": "reversed", "冻结": "held"}


class SettlementFileError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class FileLine:
    line: int
    reference: str
    merchant_no: str
    terminal_sn: str
    amount_fen: int
    fee_fen: int | None
    status: str
    captured_at: datetime | None


# What a parsed file holds per line, as parallel columns (one list per field): the staging
# table's shape. captured_key is the line's capture time as the file means it
# (%Y%m%d%H%M%S, for the key of a line without a reference; "" for lines with one).
FIELDS = ("line", "reference", "merchant_no", "terminal_sn", "amount_fen", "fee_fen", "status", "captured_epoch",
          "captured_key")


@dataclass(frozen=True)
class ParsedFile:
    format: str
    encoding: str
    columns: dict[str, list]

    @property
    def count(self) -> int:
        return len(self.columns["line"])


def detect_encoding(raw: bytes) -> tuple[str, str]:
    """(encoding label, text). GBK is tried before GB18030: a GB18030 file of common
    Chinese text is byte-identical to GBK and is shown as such; GB18030 is named only
    when the file needs it (4-byte sequences, characters outside GBK)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        candidates = ("utf-8-sig",)
    else:
        candidates = ("utf-8", "gbk", "gb18030")
    for encoding in candidates:
        try:
            return encoding, raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise SettlementFileError("invalid_encoding", "The file is neither UTF-8, GBK nor GB18030 text.")


# The business date as a column of the file itself (so the API's signature covers it).
BUSINESS_DATE_COLUMNS = ("business_date", "清算日期", "对账日期", "结算日期")


def declared_business_date(raw: bytes) -> date | None:
    """The one business date the CSV's `business_date` column names, or None without one.
    Raises SettlementFileError naming the line when a value is not a date or differs."""
    try:
        rows = csv.reader(io.StringIO(detect_encoding(raw)[1], newline=""))
        header = [str(h).strip().lstrip("\ufeff").lower() for h in next(rows, [])]
        column = next((i for i, h in enumerate(header) if h in BUSINESS_DATE_COLUMNS), None)
        if column is None:
            return None
        found: date | None = None
        for cells in rows:
            value = cells[column].strip() if column < len(cells) else ""
            if not value and not any(c.strip() for c in cells):
                continue
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise SettlementFileError("invalid_business_date",
                                          f"Line {rows.line_num}: business_date must be YYYY-MM-DD.") from None
            if found is not None and day != found:
                raise SettlementFileError("invalid_business_date",
                                          f"Line {rows.line_num}: a file holds one business date ({found}).")
            found = day
        return found
    except csv.Error:
        raise SettlementFileError("invalid_settlement_file", "The file is not valid CSV.") from None


def settlement_file_parse(*, raw: bytes, filename: str = "", tz: str = "Asia/Shanghai",
                          max_lines: int) -> ParsedFile:
    """Every line of the file, checked. Raises SettlementFileError naming the first bad line."""
    # A million lines are millions of small objects, none of them cyclic: the cyclic
    # collector would only rescan them again and again (it doubled the parse time).
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _parse(raw, filename, tz, max_lines)
    finally:
        if collecting:
            gc.enable()


def _parse(raw: bytes, filename: str, tz: str, max_lines: int) -> ParsedFile:
    if raw.startswith(b"PK\x03\x04") or filename.lower().endswith(".xlsx"):
        return ParsedFile("xlsx", "-", _columns(_lines(_xlsx_rows(raw), tz=tz, max_lines=max_lines, pan_suspect=True)))
    encoding, text = detect_encoding(raw)
    suspect = _pan_suspect(text)
    if not suspect:
        fast = _csv_columns(text, zone=ZoneInfo(tz), max_lines=max_lines)
        if fast is not None:
            return ParsedFile("csv", encoding, fast)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        # One look at the whole text first: lines are only searched one by one when it hits.
        return ParsedFile("csv", encoding, _columns(_lines(((reader.line_num, row) for row in reader), tz=tz,
                                                           max_lines=max_lines, pan_suspect=suspect)))
    except csv.Error:
        raise SettlementFileError("invalid_settlement_file", f"Line {reader.line_num}: not valid CSV.") from None


def _columns(lines: list[FileLine]) -> dict[str, list]:
    return {
        "line": [ln.line for ln in lines],
        "reference": [ln.reference for ln in lines],
        "merchant_no": [ln.merchant_no for ln in lines],
        "terminal_sn": [ln.terminal_sn for ln in lines],
        "amount_fen": [ln.amount_fen for ln in lines],
        "fee_fen": [ln.fee_fen for ln in lines],
        "status": [ln.status for ln in lines],
        "captured_epoch": [None if ln.captured_at is None else int(ln.captured_at.timestamp()) for ln in lines],
        "captured_key": ["" if ln.reference or ln.captured_at is None else f"{ln.captured_at:%Y%m%d%H%M%S}"
                         for ln in lines],
    }


# --- the fast path: a plain CSV checked column by column --------------------------------
# The common file (one physical line per row, every row as wide as the header, every line
# with a reference, amounts as digits with two places) is checked and converted a column
# at a time with C-level operations (map, join, one regex over the whole column). Anything
# else, a bad value included, goes to the line-by-line reader above, which gives the same
# result for good files and names the line for bad ones: None means "read it line by line".
_FEN_COLUMN = re.compile(r"[0-9]{1,12}\.[0-9]{2}(?:\n[0-9]{1,12}\.[0-9]{2})*")
_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - naive on purpose: local times minus their offset
_SECOND = timedelta(seconds=1)
_OFFSET_SAMPLE = timedelta(minutes=15)


def _csv_columns(text: str, *, zone: ZoneInfo, max_lines: int) -> dict[str, list] | None:
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error:
        return None
    if len(rows) < 2 or len(rows) - 1 > max_lines:
        return None
    # Row i is physical line i + 1 only without quoted line breaks, blank lines or bare CRs.
    if text.count("\n") != (len(rows) if text.endswith("\n") else len(rows) - 1) \
            or text.count("\r") not in (0, text.count("\r\n")):
        return None
    header, body = rows[0], rows[1:]
    width = len(header)
    if any(len(row) != width for row in body):
        return None
    names = [_ALIASES.get(str(h).strip().lstrip("\ufeff").lower(), "") for h in header]
    index = {name: i for i, name in enumerate(names) if name}  # the last of a repeated column, as dict(zip())
    if any(c not in index for c in REQUIRED_COLUMNS):
        return None
    cols = list(zip(*body, strict=True))  # every row is as wide as the header
    n = len(body)

    def text_column(name: str) -> list[str] | None:
        if name not in index:
            return [""] * n
        values = list(map(str.strip, cols[index[name]]))
        return values if max(map(len, values)) <= _LIMITS[name] else None

    reference, merchant_no, terminal_sn = text_column("reference"), text_column("merchant_no"), text_column(
        "terminal_sn")
    if reference is None or merchant_no is None or terminal_sn is None or not all(reference):
        return None
    amount = _fen_column(cols[index["amount"]])
    if amount is None:
        return None
    fee = _fen_column(cols[index["fee"]]) if "fee" in index else None
    if fee is None:
        if "fee" in index and any(cols[index["fee"]]):
            return None
        if "net" in index and any(cols[index["net"]]):
            net = _fen_column(cols[index["net"]])
            if net is None:
                return None
            fee = list(map(operator.sub, amount, net))
        else:
            fee = [None] * n
    status = text_column("status")
    if status is None:
        return None
    if any(status):
        words = {}
        for value in set(status):
            word = _STATUS_WORDS.get(value, value.lower()) if value else ""
            if word and word not in Status.values:
                return None
            words[value] = word
        status = list(map(words.__getitem__, status))
    epoch = _epoch_column(cols[index["captured_at"]], zone) if "captured_at" in index else [None] * n
    if epoch is None:
        return None
    return {"line": list(range(2, n + 2)), "reference": reference, "merchant_no": merchant_no,
            "terminal_sn": terminal_sn, "amount_fen": amount, "fee_fen": fee, "status": status,
            "captured_epoch": epoch, "captured_key": [""] * n}


def _fen_column(values) -> list[int] | None:
    joined = "\n".join(values)
    if not _FEN_COLUMN.fullmatch(joined):
        return None
    return list(map(int, joined.replace(".", "").split("\n")))


def _epoch_column(values, zone: ZoneInfo) -> list[int | None] | None:
    if not any(values):
        return [None] * len(values)
    if not all(values):
        return None
    try:
        instants = list(map(datetime.fromisoformat, map(str.strip, values)))
    except ValueError:
        return None
    zones = set(map(operator.attrgetter("tzinfo"), instants))
    offset = _constant_offset(zone, min(instants), max(instants)) if zones == {None} else None
    if offset is not None:
        # Local times of one offset: epoch seconds by subtraction (as int(timestamp()) does).
        base = _EPOCH + offset
        return list(map(_SECOND.__rfloordiv__, map(base.__rsub__, instants)))
    return [int((at if at.tzinfo else at.replace(tzinfo=zone)).timestamp()) for at in instants]


def _constant_offset(zone: ZoneInfo, first: datetime, last: datetime) -> timedelta | None:
    """The zone's one UTC offset over [first, last] (naive local times), sampled every 15
    minutes (offsets change on those boundaries), or None when it changes or the span is long."""
    if last - first > timedelta(days=3):
        return None
    at = first.replace(minute=first.minute // 15 * 15, second=0, microsecond=0)
    offsets = set()
    while at <= last + _OFFSET_SAMPLE:
        offsets.add(at.replace(tzinfo=zone).utcoffset())
        at += _OFFSET_SAMPLE
    return offsets.pop() if len(offsets) == 1 else None


# Without its separators (space, dash, dot), any run contains_full_pan could flag is 13+
# plain digits: a fast C-level pre-check, so a clean ASCII file is never scanned run by
# run. Other text goes straight to the detector (it normalises full-width digits first).
_THIRTEEN_DIGITS = re.compile(r"\d{13}")
_SEPARATORS = str.maketrans("", "", " -.")


def _pan_suspect(text: str) -> bool:
    if not text.isascii():
        return contains_full_pan(text)
    return bool(_THIRTEEN_DIGITS.search(text.translate(_SEPARATORS))) and contains_full_pan(text)


def _xlsx_rows(raw: bytes):
    from openpyxl import load_workbook  # only uploads need it

    try:
        book = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise SettlementFileError("invalid_settlement_file", "The file is not a readable XLSX workbook.") from None
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, ["" if v is None else v for v in row]
    finally:
        book.close()


def _lines(rows, *, tz: str, max_lines: int, pan_suspect: bool) -> list[FileLine]:
    rows = iter(rows)
    try:
        _, header = next(rows)
    except StopIteration:
        raise SettlementFileError("invalid_settlement_file", "The file is empty.") from None
    names = [_ALIASES.get(str(h).strip().lstrip("\ufeff").lower(), "") for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise SettlementFileError("invalid_settlement_file", f"The header must name the columns {', '.join(missing)}.")
    zone = ZoneInfo(tz)
    out: list[FileLine] = []
    for number, cells in rows:
        if all(isinstance(c, str) and not c.strip() for c in cells):
            continue  # blank lines (a trailing newline, an empty spreadsheet row)
        if len(out) >= max_lines:
            raise SettlementFileError("batch_too_large", f"A file may hold at most {max_lines} lines.")
        if pan_suspect and (any(isinstance(c, str) and contains_full_pan(c) for c in cells)
                            or contains_full_pan(",".join(str(c) for c in cells))):
            # Named by line only: the number itself never reaches a message or the database.
            raise SettlementFileError("full_pan_forbidden", f"Line {number} holds a full card number; "
                                      "the file is refused whole.")
        out.append(_line(number, dict(zip(names, cells, strict=False)), zone))
    return out


_LIMITS = {"reference": 64, "merchant_no": 32, "terminal_sn": 64, "status": 20}


def _text(row: dict, name: str, number: int) -> str:
    value = row.get(name)
    if not value:
        return ""
    value = str(value).strip()
    if len(value) > _LIMITS[name]:
        raise SettlementFileError("invalid_settlement_file", f"Line {number}: {name} is longer than {_LIMITS[name]}.")
    return value


def _line(number: int, row: dict, zone: ZoneInfo) -> FileLine:
    reference = _text(row, "reference", number)
    amount = _fen(row.get("amount"), number, "amount")
    if amount is None:
        raise SettlementFileError("invalid_settlement_file", f"Line {number}: amount is required.")
    fee = _fen(row.get("fee"), number, "fee")
    if fee is None and row.get("net"):
        fee = amount - _fen(row["net"], number, "net")
    status = _text(row, "status", number)
    if status:
        status = _STATUS_WORDS.get(status, status.lower())
        if status not in Status.values:
            raise SettlementFileError("invalid_settlement_file", f"Line {number}: unknown status.")
    captured_at = _instant(row.get("captured_at"), number, zone)
    merchant_no = _text(row, "merchant_no", number)
    if not reference and not (merchant_no and captured_at):
        raise SettlementFileError("invalid_settlement_file",
                                  f"Line {number}: a line needs a reference, or merchant_no and captured_at.")
    return FileLine(number, reference, merchant_no, _text(row, "terminal_sn", number), amount, fee, status,
                    captured_at)


def _fen(value, number: int, name: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        # The common case, "1280.00", without Decimal: digits, one dot, two places.
        whole, dot, cents = value.strip().partition(".")
        if dot and len(cents) == 2 and len(whole) < 13 and (whole + cents).isascii() and whole.isdigit() \
                and cents.isdigit():
            return int(whole) * 100 + int(cents)
    try:
        amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip().replace(",", ""))
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount != amount.quantize(Decimal("0.01")) or abs(amount) >= 10**12:
        raise SettlementFileError("invalid_settlement_file",
                                  f"Line {number}: {name} must be a decimal with at most 2 places.")
    return int(amount * 100)


def _instant(value, number: int, zone: ZoneInfo) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, datetime):
        try:
            value = datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise SettlementFileError("invalid_settlement_file",
                                      f"Line {number}: captured_at must be a date and time (ISO 8601).") from None
    # A time without an offset is the channel's local time, as acquirers print it.
    return value if value.tzinfo else value.replace(tzinfo=zone)
