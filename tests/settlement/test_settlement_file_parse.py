"""The settlement-file parser's column-at-a-time fast path gives exactly what the
line-by-line reader gives, and hands anything unusual (or bad) to that reader."""

import csv
import io
from zoneinfo import ZoneInfo

import pytest

from settlement.services import settlement_files as sf

PLAIN = ("reference,merchant_no,terminal_sn,amount,fee,captured_at\r\n"
         "R1,M1,T1,100.00,0.60,2026-11-20 08:00:01\r\n"
         "R2,M1,,0.01,0.00,2026-11-20T23:59:59\r\n"
         "R3,M2,T2,999999999999.99,1.20,2026-11-21 00:00:00.250000\r\n")


def slow(text: str, tz: str = "Asia/Shanghai") -> dict:
    reader = csv.reader(io.StringIO(text, newline=""))
    return sf._columns(sf._lines(((reader.line_num, row) for row in reader), tz=tz, max_lines=100,
                                 pan_suspect=False))


def fast(text: str, tz: str = "Asia/Shanghai") -> dict | None:
    return sf._csv_columns(text, zone=ZoneInfo(tz), max_lines=100)


@pytest.mark.parametrize(("text", "tz"), [
    (PLAIN, "Asia/Shanghai"),
    (PLAIN.replace("\r\n", "\n").rstrip("\n"), "Asia/Shanghai"),  # LF, no final newline
    # net instead of fee, Chinese headers and status words, an unknown and a repeated column
    ("交易参考号,商户号,交易金额,结算金额,交易状态,备注,交易时间,交易时间\n"
     "R1,M1,100.00,99.40,已结算,x,2026-01-01 00:00:00,2026-11-20 08:00:00\n"
     "R2,M1,5.00,4.97,cleared,y,2026-01-01 00:00:00,2026-11-20 09:00:00\n", "Asia/Shanghai"),
    # times with offsets, and naive ones across a DST change (per-line offsets)
    ("reference,amount,captured_at\nR1,1.00,2026-11-20T08:00:00+08:00\nR2,2.00,2026-11-20T00:00:00Z\n", "UTC"),
    ("reference,amount,captured_at\nR1,1.00,2026-03-08 01:30:00\nR2,2.00,2026-03-08 03:30:00\n"
     "R3,3.00,2026-11-01 01:30:00\n", "America/New_York"),
    ("reference,amount,captured_at\nR1,1.00,2026-03-08 01:59:59\nR2,2.00,2026-03-08 03:00:00\n",
     "America/New_York"),
    ("reference,amount,fee\n\"R,1\",1.00,\nR2,2.00,\n", "Asia/Shanghai"),  # quoted comma, no fees at all
    ("reference,amount,status\nR1,1.00,held\nR2,1.00,\nR3,1.00,HELD\n", "Asia/Shanghai"),  # some statuses
])
def test_the_fast_path_reads_what_the_line_reader_reads(text, tz):
    got = fast(text, tz)
    assert got is not None
    assert got == slow(text, tz)


@pytest.mark.parametrize("text", [
    PLAIN + "\r\n",  # a blank line
    PLAIN + ",,,,,\r\n",  # an empty row
    PLAIN + "R4,M1,T1,1.00,0.60\r\n",  # a short row
    PLAIN.replace("R2,M1,,0.01", "\"R\n2\",M1,,0.01"),  # a quoted line break
    "reference,amount,fee\nR1,1.00\nR2,2.00,0.01,extra\n",  # rows of other widths
    "reference,amount\nR1,\"1,280.00\"\nR2, 5.00\n",  # Decimal and spaces
    "reference,amount\nR1,-1.00\n",
    "reference,merchant_no,amount,captured_at\n,M1,1.00,2026-11-20 08:00:00\n",  # no reference: fuzzy
    "reference,amount,fee,net\nR1,1.00,,0.99\nR2,1.00,0.01,\n",  # mixed fee / net
    "reference,amount,captured_at\nR1,1.00,2026-11-20 08:00:00\nR2,1.00,\n",  # a time missing
    "reference,amount\rR1,1.00\r",  # bare CR line ends
])
def test_anything_else_goes_to_the_line_reader_with_the_same_result(text):
    assert fast(text) is None
    parsed = sf.settlement_file_parse(raw=text.encode(), max_lines=100)
    assert parsed.columns == slow(text)


@pytest.mark.parametrize(("text", "message"), [
    ("reference,amount\nR1,1.00\nR2,1.0x\n", "Line 3: amount"),
    ("reference,amount,status\nR1,1.00,settled\nR2,1.00,bogus\n", "Line 3: unknown status"),
    ("reference,amount,captured_at\nR1,1.00,2026-02-30 08:00:00\n", "Line 2: captured_at"),
    ("reference,amount\nR1,1.00\n" + "R" * 65 + ",1.00\n", "Line 3: reference is longer"),
])
def test_a_bad_line_is_still_named(text, message):
    with pytest.raises(sf.SettlementFileError) as error:
        sf.settlement_file_parse(raw=text.encode(), max_lines=100)
    assert message in error.value.message


def test_too_many_lines_is_refused_on_either_path():
    with pytest.raises(sf.SettlementFileError) as error:
        sf.settlement_file_parse(raw=PLAIN.encode(), max_lines=2)
    assert error.value.code == "batch_too_large"
