"""The new owner's journey in a real browser (issue 13): invited, sets a password, logs
in, reads today's equation and the money coming, the all-shops summary, opens a swipe of
the other shop from its notification link, has an inquiry with a card number refused
without losing the text, and downloads the CSV (references kept as text). At 375 px in
Chinese, then the home page at 1280 px in English. Screenshots in test-artifacts/."""

import csv
import io
import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from merchants.export import TEXT_MARK
from merchants.invitations import invitation_create
from merchants.models import Membership
from tests.factories import MerchantFactory
from tests.merchants.conftest import build_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
PASSWORD = "a-long-enough-passphrase"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN", "viewport": {"width": 375, "height": 812},
            "accept_downloads": True}


@pytest.fixture
def journey(transactional_db, merchant):
    first = build_shop(merchant, tag="A")
    second = build_shop(MerchantFactory(name="二号店 Shop Two"), tag="B")
    return first, second, invitation_create(merchant=merchant, role="owner", email="new@example.com")


def no_overflow(page, width=375):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_invited_owner_journey(page, live_server, journey):
    ARTIFACTS.mkdir(exist_ok=True)
    first, second, invitation = journey

    # invited: set a password, logged in, on the shop's home
    page.goto(live_server.url + invitation.path)
    page.get_by_label("用户名").fill("new-owner")
    page.get_by_label("密码（至少 12 位）").fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("button", name="设置密码并登录").click()
    expect(page).to_have_url(f"{live_server.url}/m/")
    Membership.objects.create(user=Membership.objects.get(merchant=first.merchant, role="owner").user,
                              merchant=second.merchant, role="owner")
    page.reload()

    # today's numbers as one equation; the money coming
    expect(page.get_by_test_id("equation")).to_contain_text("¥358.50 刷卡 − ¥2.15 手续费 = ¥356.35：已到账 ¥298.20 + 在途 ¥58.15")
    expect(page.get_by_test_id("coming")).to_contain_text("明天")
    expect(page.get_by_test_id("late-summary")).to_contain_text("1 笔")
    no_overflow(page)
    page.screenshot(path=str(ARTIFACTS / "journey-home-375.png"), full_page=True)

    # every shop at a glance
    page.get_by_test_id("all-shops").click()
    expect(page.get_by_test_id("shop-row")).to_have_count(2)
    expect(page.get_by_test_id("all-late")).to_contain_text("2 笔")
    no_overflow(page)
    page.screenshot(path=str(ARTIFACTS / "journey-shops-375.png"), full_page=True)

    # a notification's link to the other shop's swipe switches shops instead of a 404
    page.goto(f"{live_server.url}/m/swipes/{second.late.pk}/")
    expect(page).to_have_url(f"{live_server.url}/m/swipes/{second.late.pk}/")
    expect(page.locator(".messages")).to_contain_text("已切换到 二号店 Shop Two")
    expect(page.locator("h1.amount-big")).to_have_text("¥1,280.00")

    # an inquiry with a card number is refused, and the text stays in the box
    typed = "卡号 4111 1111 1111 1111 这笔还没到"
    box = page.locator("#id_message")  # the swipe has an open case: "add a message"
    box.fill(typed)
    page.locator("form[action$='/ask/'] button[type=submit]").click()
    expect(page.get_by_role("alert")).to_contain_text("请不要填写完整卡号")
    expect(box).to_have_value(typed)
    no_overflow(page)
    page.screenshot(path=str(ARTIFACTS / "journey-refused-375.png"), full_page=True)

    # the CSV, parsed: references as text, the late column and the case
    page.get_by_role("link", name="导出").click()
    with page.expect_download() as info:
        page.get_by_role("button", name="下载 CSV").click()
    raw = Path(info.value.path()).read_bytes()
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    by_ref = {r["参考号"]: r for r in rows}
    assert set(by_ref) == {TEXT_MARK + "B100", TEXT_MARK + "B101", TEXT_MARK + "B102"}
    assert by_ref[TEXT_MARK + "B102"]["延迟起始时间"] and by_ref[TEXT_MARK + "B102"]["工单"] == TEXT_MARK + second.case.reference

    # the desktop, in English
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("#lang-select").select_option("en")
    expect(page.get_by_role("link", name="Find a swipe")).to_be_visible()
    page.goto(f"{live_server.url}/m/")
    expect(page.get_by_test_id("equation")).to_contain_text(re.compile(r"swiped − ¥[\d.,]+ fee = "))
    no_overflow(page, 1280)
    page.screenshot(path=str(ARTIFACTS / "journey-home-1280.png"), full_page=True)
