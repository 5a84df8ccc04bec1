"""Staff reconcile a settlement file in a real browser (Debian's Chromium)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from settlement.models import ReconciliationBreak
from tests.factories import MerchantFactory, UserFactory, make_transaction
from tests.settlement.test_staff_browser import ARTIFACTS


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_upload_see_totals_filter_and_bulk_resolve(live_server, page, tmp_path):
    UserFactory(username="recon", is_staff=True, password="correct-horse-battery")
    from django.contrib.auth.models import Group

    User.objects.get(username="recon").groups.add(Group.objects.get_or_create(name="supervisor")[0])
    merchant = MerchantFactory(merchant_no="M400", name="鲜果坊", fee_rate_bps=60)
    at = timezone.now().replace(microsecond=0) - timedelta(days=1)
    swipes = [make_transaction(merchant=merchant, amount=f"{10 + i}.00", reference=f"W{i}",
                               captured_at=at + timedelta(minutes=i)) for i in range(4)]
    # W0 off by 0.01, W3 missing, X1 and X2 unknown to us
    text = "交易参考号,交易金额,手续费\n" + "".join(
        f"{t.reference},{'10.01' if t.reference == 'W0' else t.amount},{t.fee}\n" for t in swipes[:3]
    ) + "X1,1.00,\nX2,2.00,\n"
    path = tmp_path / "对账单.csv"
    path.write_bytes(text.encode("gb18030"))

    page.goto(f"{live_server.url}/accounts/login/?next=/staff/reconciliation/upload/")
    page.fill("#id_username", "recon")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    page.select_option("#id_channel", str(merchant.channel_id))
    page.fill("#id_business_date", swipes[0].business_date.isoformat())
    page.set_input_files("#id_file", str(path))
    page.click("#upload-form button[type=submit]")
    expect(page.locator("#file-encoding")).to_have_text("gbk")
    expect(page.locator("#file-total")).to_contain_text("36.01")
    expect(page.locator(".total-unknown_to_us")).to_contain_text("2")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "staff_reconciliation_run.png"), full_page=True)

    page.goto(f"{live_server.url}/staff/reconciliation/")
    expect(page.locator(".break-row")).to_have_count(4)
    page.select_option("select[name=kind]", "unknown_to_us")
    page.click("#break-filters button[type=submit]")
    expect(page.locator(".break-row")).to_have_count(2)
    page.check("#select-all")
    page.fill("#id_reason", "Acquirer test lines, confirmed by phone")
    page.click("#bulk-resolve button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("2")
    expect(page.locator(".break-row")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "staff_reconciliation_resolved.png"), full_page=True)
    resolved = ReconciliationBreak.objects.filter(resolution="staff")
    assert set(resolved.values_list("reference", flat=True)) == {"X1", "X2"}
    assert ReconciliationBreak.objects.filter(status__in=["new", "persisting"]).count() == 2
