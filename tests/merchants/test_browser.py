"""The dashboard in a real browser (Debian's Chromium via pytest-playwright): a shop
owner logs in through the form, reads today's totals, finds swipes, reads a timeline,
asks about a payment, switches language and exports CSV. Screenshots of the home page
at 375 px and 1280 px go to test-artifacts/."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from tests.merchants.conftest import build_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"


@pytest.fixture
def browser_context_args(browser_context_args):
    # A Chinese phone browser: the dashboard must answer in Chinese by default.
    return {**browser_context_args, "locale": "zh-CN", "viewport": {"width": 375, "height": 812}}


@pytest.fixture
def live_shop(transactional_db, merchant, merchant_user):
    return build_shop(merchant, tag="A")


def login(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill("shopkeeper")
    page.get_by_label("密码").fill("correct-horse-battery")
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/m/$"))


def test_shop_owner_journey(page, live_server, live_shop):
    ARTIFACTS.mkdir(exist_ok=True)
    login(page, live_server)

    # today's totals, in Chinese, with the late swipe and its case
    expect(page.get_by_test_id("swiped")).to_have_text("¥358.50")
    expect(page.get_by_test_id("arrived")).to_have_text("¥298.20")
    expect(page.get_by_test_id("late-title")).to_have_text("延迟款项")
    expect(page.get_by_text(live_shop.case.reference).first).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "merchant-home-375.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(ARTIFACTS / "merchant-home-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})

    # find by the slip's reference: straight to the swipe and its timeline
    page.get_by_label("按小票上的参考号查交易").fill("A102")
    page.get_by_role("button", name="查找").click()
    expect(page).to_have_url(re.compile(rf"/m/swipes/{live_shop.late.pk}/$"))
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("已刷卡")
    expect(timeline).to_contain_text("已清算")
    expect(page.get_by_test_id("arrival")).to_contain_text("已延迟")
    page.screenshot(path=str(ARTIFACTS / "merchant-swipe-375.png"), full_page=True)

    # find by amount + last 4 digits
    page.get_by_role("link", name="查交易").first.click()
    page.get_by_label("金额").fill("1,280")
    page.get_by_label("卡号后4位").fill("8888")
    page.get_by_role("button", name="查询").click()
    results = page.locator("ul.swipes li")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("A102")
    page.screenshot(path=str(ARTIFACTS / "merchant-find-375.png"), full_page=True)

    # the bank credit: its swipes, fee and net, add up to the credited amount
    page.goto(f"{live_server.url}/m/arrivals/{live_shop.payout.pk}/")
    expect(page.locator("table.money-table")).to_contain_text("A100")
    page.screenshot(path=str(ARTIFACTS / "merchant-arrival-375.png"), full_page=True)

    # open an inquiry about the swipe that is still on its way
    page.goto(f"{live_server.url}/m/swipes/{live_shop.on_the_way.pk}/")
    page.get_by_label("遇到了什么问题？").fill("这笔钱还没到账")
    page.get_by_role("button", name="提交咨询").click()
    expect(page).to_have_url(re.compile(r"/m/cases/\d+/$"))
    expect(page.locator(".messages")).to_contain_text("已为您创建工单 C")
    expect(page.locator("ol.timeline")).to_contain_text("这笔钱还没到账")
    page.screenshot(path=str(ARTIFACTS / "merchant-case-375.png"), full_page=True)

    # switch to English and back
    page.locator("#lang-select").select_option("en")
    expect(page.get_by_role("link", name="Find a swipe")).to_be_visible()
    expect(page.locator("ol.timeline")).to_contain_text("You")
    page.locator("#lang-select").select_option("zh-hans")
    expect(page.get_by_role("link", name="查交易")).to_be_visible()

    # export CSV: UTF-8 with a BOM so Excel reads the Chinese headers
    page.get_by_role("link", name="导出").click()
    with page.expect_download() as download_info:
        page.get_by_role("button", name="下载 CSV").click()
    raw = Path(download_info.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("参考号,时间,金额")
    assert "A100" in text and "A102" in text and "已到账" in text
