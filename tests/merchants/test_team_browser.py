"""A way in and a team, in a real browser (issue 13, item 8): a supervisor opens the
merchant's staff page from a case, invites its owner with a mobile number and no email
(the one-time link is shown for an SMS); the owner opens the link at 375 px in Chinese,
sets a password and lands on the shop; on the team page the last owner cannot step
down, promotes one cashier and removes the other, whose open session ends at once.
Screenshots in test-artifacts/."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from merchants.models import Membership, UserPhone
from tests.factories import MembershipFactory, UserFactory
from tests.merchants.conftest import build_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
PASSWORD = "a-long-enough-passphrase"
STAFF_PASSWORD = "correct-horse-battery"


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def shop_without_owner(transactional_db, merchant):
    from tests.conftest import staff_with_role

    shop = build_shop(merchant, tag="A")
    tills = [UserFactory(username=name, password=STAFF_PASSWORD) for name in ("till-1", "till-2")]
    for till in tills:
        MembershipFactory(user=till, merchant=merchant, role="cashier")
    lead = staff_with_role("lead", "supervisor")
    lead.set_password(STAFF_PASSWORD)
    lead.save()
    return shop, tills


def no_overflow(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def login(page, url, username):
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("button[type=submit]")


def test_staff_invite_then_the_owner_manages_the_team(page, browser, live_server, shop_without_owner):
    ARTIFACTS.mkdir(exist_ok=True)
    shop, (till1, till2) = shop_without_owner
    merchant = shop.merchant

    # the supervisor: from the case page to the merchant page, invite the owner by SMS link
    login(page, f"{live_server.url}/accounts/login/?next=/staff/cases/{shop.case.pk}/", "lead")
    page.click("#merchant-link")
    expect(page).to_have_url(f"{live_server.url}/staff/merchants/{merchant.merchant_no}/")
    expect(page.locator("#people")).to_contain_text("till-1")
    page.select_option("#id_role", "owner")
    page.fill("#id_email", "")
    page.fill("#id_phone", "12345")
    page.get_by_role("button", name="Create the invitation").click()
    expect(page.locator("#invite-form")).to_contain_text("mainland China mobile number")
    expect(page.locator("#id_phone")).to_have_value("12345")
    page.fill("#id_phone", "+86 138-0013-8000")
    page.get_by_role("button", name="Create the invitation").click()
    expect(page.locator("#invite-done")).to_contain_text("SMS")
    link = page.get_by_test_id("invite-link").inner_text().strip()
    assert re.fullmatch(re.escape(live_server.url) + r"/invite/[\w-]+/", link), link
    expect(page.locator("#people")).to_contain_text("···8000")
    page.screenshot(path=str(ARTIFACTS / "staff-merchant-invite-1280.png"), full_page=True)

    # a cashier who is logged in right now (their session must end when removed)
    till_context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 812})
    till_page = till_context.new_page()
    login(till_page, f"{live_server.url}/accounts/login/?next=/m/swipes/", "till-2")
    expect(till_page).to_have_url(f"{live_server.url}/m/swipes/")

    # the owner, on a phone in Chinese: the link sets a password and logs in
    owner_context = browser.new_context(locale="zh-CN", viewport={"width": 375, "height": 812})
    phone = owner_context.new_page()
    phone.goto(link)
    phone.get_by_label("用户名").fill("new-owner")
    phone.get_by_label("密码（至少 12 位）").fill(PASSWORD)
    phone.get_by_label("再次输入密码").fill(PASSWORD)
    phone.get_by_role("button", name="设置密码并登录").click()
    expect(phone).to_have_url(f"{live_server.url}/m/")
    owner = Membership.objects.get(merchant=merchant, role="owner").user
    assert owner.username == "new-owner" and UserPhone.objects.get(user=owner).phone == "8613800138000"

    phone.get_by_role("link", name="人员").click()
    expect(phone.get_by_test_id("member")).to_have_count(3)
    me = phone.locator("[data-username='new-owner']")
    # the last owner cannot step down
    me.locator("select[name=role]").select_option("cashier")
    me.get_by_role("button", name="更改角色").click()
    expect(phone.get_by_test_id("team-error")).to_contain_text("最后一位店主")
    no_overflow(phone, 375)
    phone.screenshot(path=str(ARTIFACTS / "team-last-owner-375.png"), full_page=True)

    # promote till-1 to owner
    row1 = phone.locator("[data-username='till-1']")
    row1.locator("select[name=role]").select_option("owner")
    row1.get_by_role("button", name="更改角色").click()
    expect(phone.locator(".messages")).to_contain_text("till-1 现在的角色：店主")
    expect(phone.locator("[data-username='till-1'] .when")).to_contain_text("店主")

    # remove till-2: gone from the list, and their open session ends
    phone.get_by_role("button", name="移除 till-2").click()
    expect(phone.locator(".messages")).to_contain_text("已将 till-2 移出本店")
    expect(phone.get_by_test_id("member")).to_have_count(2)
    no_overflow(phone, 375)
    phone.screenshot(path=str(ARTIFACTS / "team-after-375.png"), full_page=True)
    assert not Membership.objects.filter(user=till2).exists()
    assert Membership.objects.get(user=till1).role == "owner"
    till_page.reload()
    expect(till_page).to_have_url(re.compile(r"/accounts/login/"))
    till_context.close()
    owner_context.close()
