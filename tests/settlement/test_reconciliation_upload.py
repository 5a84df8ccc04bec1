"""Staff upload of a settlement file: CSV in UTF-8 / GBK / GB18030, XLSX; errors shown."""

import io
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from settlement.models import ReconciliationRun, SettlementFile
from tests.factories import MerchantFactory, make_transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def swipes():
    merchant = MerchantFactory(merchant_no="M300", fee_rate_bps=60)
    at = timezone.now().replace(microsecond=0) - timedelta(days=1)
    return [make_transaction(merchant=merchant, amount=f"{50 + i}.00", reference=f"U{i}",
                             captured_at=at + timedelta(minutes=i)) for i in range(3)]


def upload(client, swipes, raw: bytes, name: str):
    return client.post("/staff/reconciliation/upload/", {
        "channel": swipes[0].channel_id, "business_date": swipes[0].business_date.isoformat(),
        "file": SimpleUploadedFile(name, raw),
    }, HTTP_ACCEPT_LANGUAGE="en", follow=True)


def chinese_csv(swipes) -> str:
    return "交易参考号,商户号,交易金额,手续费,备注\n" + "".join(
        f"{t.reference},M300,{t.amount},{t.fee},刷卡消费€\n" for t in swipes)


def test_a_gb18030_csv_upload_shows_its_encoding_and_totals(client, staff_user, swipes):
    client.force_login(staff_user)
    response = upload(client, swipes, chinese_csv(swipes).encode("gb18030"), "对账单.csv")
    html = response.content.decode()
    run = ReconciliationRun.objects.get()
    assert response.redirect_chain[-1][0] == f"/staff/reconciliation/runs/{run.pk}/"
    assert '<dd id="file-encoding">gb18030</dd>' in html and "File stored and reconciled." in html
    assert run.totals["matched"]["count"] == 3 and "153.00" in html
    assert run.file.uploaded_by == staff_user and run.file.source == "upload" and run.file.filename == "对账单.csv"

    again = upload(client, swipes, chinese_csv(swipes).encode("gb18030"), "copy.csv")
    assert "received before" in again.content.decode() and ReconciliationRun.objects.count() == 1


def test_a_gbk_csv_is_shown_as_gbk(client, staff_user, swipes):
    client.force_login(staff_user)
    html = upload(client, swipes, chinese_csv(swipes).replace("€", "").encode("gbk"), "f.csv").content.decode()
    assert '<dd id="file-encoding">gbk</dd>' in html


def test_an_xlsx_upload_is_reconciled(client, staff_user, swipes):
    book = Workbook()
    sheet = book.active
    sheet.append(["reference", "merchant_no", "amount", "fee", "captured_at"])
    for t in swipes[:2]:
        sheet.append([t.reference, "M300", float(t.amount), float(t.fee),
                      t.captured_at.astimezone(timezone.get_default_timezone()).replace(tzinfo=None)])
    sheet.append(["", "M300", float(swipes[2].amount), None,
                  swipes[2].captured_at.astimezone(timezone.get_default_timezone()).replace(tzinfo=None)])
    buffer = io.BytesIO()
    book.save(buffer)
    client.force_login(staff_user)
    html = upload(client, swipes, buffer.getvalue(), "settle.xlsx").content.decode()
    run = ReconciliationRun.objects.get()
    assert run.file.format == "xlsx" and run.totals["matched"]["count"] == 3 and run.fuzzy_matches == 1
    assert "fuzzy" in html


def test_a_bad_file_is_refused_with_the_line_and_nothing_stored(client, staff_user, swipes):
    client.force_login(staff_user)
    html = upload(client, swipes, b"reference,amount\nU0,50.00\nU1,fifty\n", "bad.csv").content.decode()
    assert "Line 3: amount must be a decimal" in html
    assert not SettlementFile.objects.exists()
