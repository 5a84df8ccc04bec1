"""CSV as merchants open it (issue 13, item 7): identifiers stay text in Excel/WPS
(a leading zero-width space), formula-like cells are inert, amounts stay numbers, and
there are a late column and the case reference. The tests parse the file."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from merchants.export import TEXT_MARK, as_text
from tests.factories import make_transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, shop, merchant_user):
    client.force_login(merchant_user)
    return client


def _export(client, **extra) -> list[dict]:
    day = timezone.localdate()
    response = client.get("/m/export/", {"date_from": str(day - timedelta(days=10)), "date_to": str(day)}, **extra)
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def test_identifiers_are_text_and_amounts_numbers(logged_in, shop):
    numeric = make_transaction(merchant=shop.merchant, amount="12.30", reference="100001000012",
                               terminal=shop.terminal)
    rows = {r["Reference"].removeprefix(TEXT_MARK): r for r in _export(logged_in, HTTP_ACCEPT_LANGUAGE="en")}
    row = rows[numeric.reference]
    # Excel would show 1.00001E+11: the zero-width mark keeps all 12 digits as text
    assert row["Reference"] == TEXT_MARK + "100001000012"
    assert row["Card"] == TEXT_MARK + numeric.masked_pan
    assert row["Terminal"] == TEXT_MARK + shop.terminal.serial_number
    assert row["Amount"] == "12.30" and row["Fee"] and float(row["Net"]) < 12.30
    assert rows["A100"]["Bank credit"] == TEXT_MARK + shop.payout.reference
    assert rows["A100"]["Status"] == "In your bank"


def test_late_column_and_case_reference(logged_in, shop):
    rows = {r["参考号"].removeprefix(TEXT_MARK): r for r in _export(logged_in)}
    late = rows["A102"]
    assert late["延迟起始时间"] == timezone.localtime(shop.late.delayed_since).strftime("%Y-%m-%d %H:%M:%S")
    assert late["工单"] == TEXT_MARK + shop.case.reference
    assert rows["A100"]["延迟起始时间"] == "" and rows["A100"]["工单"] == ""
    assert late["状态"] == "已清算" and rows["A100"]["状态"] == "已到账"


def test_formula_like_cells_are_inert(logged_in, shop):
    make_transaction(merchant=shop.merchant, reference="=HYPERLINK(1)", masked_pan="")
    make_transaction(merchant=shop.merchant, reference="-2+3")
    rows = [r["Reference"] for r in _export(logged_in, HTTP_ACCEPT_LANGUAGE="en")]
    assert "'=HYPERLINK(1)" in rows and "'-2+3" in rows
    for cell in rows:
        assert cell.startswith((TEXT_MARK, "'")), cell


def test_as_text():
    assert as_text("") == "" and as_text("@x") == "'@x" and as_text("0012") == TEXT_MARK + "0012"


def test_a_reference_pasted_from_the_csv_is_found(logged_in, shop):
    response = logged_in.get("/m/swipes/", {"reference": TEXT_MARK + "A102"})
    assert response.status_code == 302 and response["Location"] == f"/m/swipes/{shop.late.pk}/"
