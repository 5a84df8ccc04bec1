"""Phone-first (issue 13, item 4): at 375 px (zh-CN) the home, find, a swipe, a bank
credit, cases, all shops and the glossary have no horizontal overflow, no amount wraps
inside itself or is cut off, and the bank credit's table is a stack of cards.
Screenshots go to test-artifacts/ (375 px, and 1280 px in English for comparison)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from merchants.models import Merchant
from settlement.models import Payout
from tests.factories import MembershipFactory, MerchantFactory, make_transaction, push
from tests.merchants.conftest import build_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
LONG_BANK = "中国工商银行股份有限公司北京市分行营业部 Industrial and Commercial Bank of China"

# Any amount that wraps onto two lines or is clipped by its box, and the page's width.
LAYOUT_PROBLEMS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('.amt, .amount, .num, .figures dd, .amount-big, .status')) {
    if (!el.offsetParent) continue;
    const head = el.closest('thead');  // a stacked table's header row is kept for screen readers only
    if (head && head.getBoundingClientRect().height <= 1) continue;
    const lines = new Set([...el.getClientRects()].map(r => Math.round(r.top)));
    if (el.matches('.amt, .amount, .figures dd:not(.small), .amount-big') && lines.size > 1) bad.push('wraps: ' + el.textContent.trim());
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).display !== 'inline') bad.push('clipped: ' + el.textContent.trim());
    const r = el.getBoundingClientRect();
    if (r.right > document.documentElement.clientWidth + 0.5) bad.push('off screen: ' + el.textContent.trim());
  }
  return {width: document.documentElement.scrollWidth, bad};
}"""


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN", "viewport": {"width": 375, "height": 812}}


@pytest.fixture
def big_shop(transactional_db, merchant, merchant_user):
    Merchant.objects.filter(pk=merchant.pk).update(account_bank=LONG_BANK)
    merchant.refresh_from_db()
    shop = build_shop(merchant, tag="A")
    # five- and six-digit totals: the numbers that used to break in the middle
    now = timezone.now()
    today = shop.on_the_way.captured_at - timedelta(minutes=1)
    big = [make_transaction(merchant=merchant, amount=a, captured_at=today, terminal=shop.terminal)
           for a in ("11110.44", "98765.43", "123456.78")]
    payout = Payout.objects.create(channel=merchant.channel, reference="P2026120200000000001", merchant=merchant,
                                   amount=sum(t.net for t in big), status=Payout.Status.CREDITED, sent_at=now,
                                   credited_at=now)
    for t in big:
        push(t, "cleared", today + timedelta(seconds=10))
        push(t, "settled", today + timedelta(seconds=20), payout_reference=payout.reference)
        push(t, "credited", today + timedelta(seconds=30), payout_reference=payout.reference)
    second = MerchantFactory(name="二号店 第二家分店 Second Branch Shop")
    MembershipFactory(user=merchant_user, merchant=second)
    build_shop(second, tag="B")
    shop.big_payout = payout
    return shop


def login(page, live_server):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名").fill("shopkeeper")
    page.get_by_label("密码").fill("correct-horse-battery")
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{live_server.url}/m/")


def check(page, name: str, width: int = 375):
    result = page.evaluate(LAYOUT_PROBLEMS)
    page.screenshot(path=str(ARTIFACTS / f"phone-{name}-{width}.png"), full_page=True)
    assert result["width"] <= width, f"{name}: page is {result['width']} px wide"
    assert result["bad"] == [], f"{name}: {result['bad']}"


def test_every_merchant_page_fits_a_375_px_phone(page, live_server, big_shop):
    ARTIFACTS.mkdir(exist_ok=True)
    login(page, live_server)
    expect(page.get_by_test_id("swiped")).to_contain_text("¥")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    pages = {
        "home": "/m/",
        "find": "/m/swipes/?amount=58.50",
        "find-all": "/m/swipes/",
        "swipe": f"/m/swipes/{big_shop.late.pk}/",
        "bank-credit": f"/m/arrivals/{big_shop.big_payout.pk}/",
        "bank-credits": "/m/arrivals/",
        "cases": "/m/cases/",
        "case": f"/m/cases/{big_shop.case.pk}/",
        "shops": "/m/shops/",
        "glossary": "/m/statuses/",
        "messages": "/m/notifications/",
    }
    for name, url in pages.items():
        page.goto(live_server.url + url)
        check(page, name)

    # the bank credit's table is a stack of labelled cards, its credited amount in view
    page.goto(f"{live_server.url}/m/arrivals/{big_shop.big_payout.pk}/")
    rows = page.locator("table.money-table tbody tr")
    expect(rows).to_have_count(3)
    assert page.locator("table.money-table tbody tr").first.evaluate("r => getComputedStyle(r).display") == "block"
    box = page.get_by_test_id("credited-amount").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375

    # the same pages on a desktop, in English
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator("#lang-select").select_option("en")
    expect(page.get_by_role("link", name="Find a swipe")).to_be_visible()
    for name in ("home", "bank-credit", "shops"):
        page.goto(live_server.url + pages[name])
        check(page, name, 1280)
