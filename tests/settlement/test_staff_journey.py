"""The staff workspace in a real browser (Debian's Chromium), in Chinese and English:
an agent finds a case by a partial merchant no, replies (the merchant, in another
browser context, sees the reply and a notification), sets a new arrival (a past one
is refused), records the bank's credit and resolves. Screenshots at 1280 px (and the
case page at 375 px) go to test-artifacts/."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from settlement.models import FollowUpCase
from settlement.services.delays import delays_flag
from tests.factories import MembershipFactory, MerchantFactory, UserFactory, make_transaction

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
TEXT = {
    "zh-CN": {"lang": "zh-hans", "login": "登录", "past": "新的预计到账时间必须晚于现在", "reply": "回复商户",
              "support": "客服", "resolved": "已解决", "notified": "客服回复了工单"},
    "en-US": {"lang": "en", "login": "Log in", "past": "must be in the future", "reply": "Reply to the merchant",
              "support": "Support", "resolved": "Resolved", "notified": "Support replied on case"},
}


def login(page, base: str, username: str, password: str, button: str, next_url: str):
    page.goto(f"{base}/accounts/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name=button).click()


def local_input(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_agent_answers_the_merchant_and_resolves(live_server, browser, monkeypatch, locale):
    from settlement.tasks import send_notification_emails

    monkeypatch.setattr(send_notification_emails, "delay", lambda ids: None)  # no broker needed
    t = TEXT[locale]
    UserFactory(username="agent", is_staff=True, password="correct-horse-battery")
    shop = MerchantFactory(merchant_no="M100003", name="鲜果坊 Fresh Fruit", language=t["lang"])
    owner = UserFactory(username="shopkeeper", password="correct-horse-battery")
    MembershipFactory(user=owner, merchant=shop)
    held = make_transaction(merchant=shop, amount="1280.00", captured_at=timezone.now() - timedelta(days=3))
    other = make_transaction(merchant=MerchantFactory(merchant_no="M200001", name="川味小馆"), amount="66.00",
                             captured_at=timezone.now() - timedelta(days=3))
    delays_flag(now=max(held.overdue_at, other.overdue_at) + timedelta(minutes=1))
    case = FollowUpCase.objects.get(transaction=held)
    ARTIFACTS.mkdir(exist_ok=True)
    tag = t["lang"]

    staff_ctx = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = staff_ctx.new_page()
    login(page, live_server.url, "agent", "correct-horse-battery", t["login"], "/staff/")
    expect(page.locator(".case-row")).to_have_count(2)
    page.wait_for_function("() => window.htmx !== undefined")

    # search by a partial merchant no: one request, the URL keeps it
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/staff/?" in r.url else None)
    page.fill("#q", "00003")
    page.press("#q", "Enter")
    expect(page.locator(".case-row")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=00003"))
    expect(page.locator(".case-row")).to_contain_text("M100003")
    assert len(requests) == 1, requests
    # a select change is one request too
    page.select_option("select[name=sort]", "-amount")
    expect(page).to_have_url(re.compile(r"sort=-amount"))
    assert len(requests) == 2, requests
    page.screenshot(path=str(ARTIFACTS / f"staff-queue-search-{tag}-1280.png"), full_page=True)

    # the case page: reply to the merchant (the primary action)
    page.click(f"text={case.reference}")
    expect(page.locator("#actions h2").first).to_have_text(t["reply"])
    page.fill("#reply-form textarea[name=body]", "款项在银行处理中 / the bank is processing it")
    page.click("#reply-form button[type=submit]")
    expect(page.locator(".entry-staff_reply")).to_contain_text("the bank is processing it")

    # the merchant, in another browser context, sees the reply and a notification
    shop_ctx = browser.new_context(locale=locale, viewport={"width": 375, "height": 812})
    shop_page = shop_ctx.new_page()
    login(shop_page, live_server.url, "shopkeeper", "correct-horse-battery", t["login"], f"/m/cases/{case.pk}/")
    expect(shop_page.locator("ol.timeline")).to_contain_text("the bank is processing it")
    expect(shop_page.locator("ol.timeline")).to_contain_text(t["support"])
    shop_page.goto(f"{live_server.url}/m/notifications/")
    expect(shop_page.locator("main")).to_contain_text(t["notified"])

    # a new arrival in the past is refused with a clear error; a future one is shown
    page.click("details:has(#arrival-form) > summary")
    page.fill("#arrival-form input[name=at]", local_input(timezone.now() - timedelta(days=1)))
    page.fill("#arrival-form input[name=reason]", "银行批量延迟 bank batch")
    page.click("#arrival-form button[type=submit]")
    expect(page.locator("#arrival-form")).to_contain_text(t["past"])
    future = timezone.now() + timedelta(days=1)
    page.fill("#arrival-form input[name=at]", local_input(future))
    page.fill("#arrival-form input[name=reason]", "银行批量延迟 bank batch")
    page.click("#arrival-form button[type=submit]")
    expect(page.locator("#new-arrival")).to_contain_text(timezone.localtime(future).strftime("%Y-%m-%d %H:%M"))
    shop_page.goto(f"{live_server.url}/m/cases/{case.pk}/")
    expect(shop_page.locator("#new-arrival")).to_contain_text("bank batch")
    shop_page.screenshot(path=str(ARTIFACTS / f"merchant-case-reply-{tag}-375.png"), full_page=True)

    # record the bank's credit, then resolve
    page.click("details:has(#record-form) > summary")
    page.select_option("#record-form select[name=status]", "credited")
    page.fill("#record-form input[name=occurred_at]", local_input(timezone.now() - timedelta(minutes=5)))
    page.fill("#record-form input[name=bank_reference]", "ICBC-778899")
    page.fill("#record-form textarea[name=evidence]", "call with ICBC ops")
    page.click("#record-form button[type=submit]")
    case.refresh_from_db()
    if case.status != FollowUpCase.Status.RESOLVED:  # recording the credit may already close it
        page.click("details:has(#resolve-form) > summary")
        page.select_option("#resolve-form select[name=outcome]", "credited_late")
        page.click("#resolve-form button[type=submit]")
    expect(page.locator("#summary .status")).to_have_text(t["resolved"])
    expect(page.locator("#outcome")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"staff-case-resolved-{tag}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.screenshot(path=str(ARTIFACTS / f"staff-case-resolved-{tag}-375.png"), full_page=True)
    case.refresh_from_db()
    assert case.status == "resolved" and case.transaction.status == "credited"
    staff_ctx.close()
    shop_ctx.close()


UPDATE = {"zh-CN": ("个工单分配给", "已向 2 个商户发送更新", "关于您款项延迟的最新进展"),
          "en-US": ("assigned to", "Update sent to 2 merchant(s)", "Update on the delay affecting your payments")}


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_supervisor_assigns_an_incident_and_two_merchants_see_the_update(live_server, browser, settings, locale):
    from django.contrib.auth.models import Group

    from settlement.models import ChannelIncident

    settings.DELAYS_INCIDENT_THRESHOLD = 3
    t = TEXT[locale]
    assigned, sent, seen = UPDATE[locale]
    lead = UserFactory(username="lead", is_staff=True, password="correct-horse-battery")
    lead.groups.add(Group.objects.get_or_create(name="supervisor")[0])
    UserFactory(username="agent", is_staff=True)
    first = MerchantFactory(name="鲜果坊", language=t["lang"])
    second = MerchantFactory(name="川味小馆", channel=first.channel, language=t["lang"])
    owners = []
    for i, shop in enumerate((first, second)):
        owner = UserFactory(username=f"owner{i}", password="correct-horse-battery")
        MembershipFactory(user=owner, merchant=shop)
        owners.append(owner)
    captured = timezone.now() - timedelta(days=4)
    for shop in (first, first, second):
        make_transaction(merchant=shop, captured_at=captured, amount="100.00")
    delays_flag(now=timezone.now())
    incident = ChannelIncident.objects.get()
    tag = t["lang"]

    ctx = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    login(page, live_server.url, "lead", "correct-horse-battery", t["login"], "/staff/")
    page.click(f"a[href='/staff/incidents/{incident.pk}/']")
    expect(page.locator("#affected-merchants")).to_contain_text("川味小馆")
    page.click("details:has(#incident-bulk-form) > summary")
    page.select_option("#incident-bulk-form select[name=assignee]", label="agent")
    page.click("#incident-bulk-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text(assigned)
    page.fill("#incident-update-form textarea[name=body]", "渠道已恢复，今日补发 / channel back, paying today")
    page.click("#incident-update-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text(sent)
    expect(page.locator(".incident-update")).to_contain_text("channel back")
    page.screenshot(path=str(ARTIFACTS / f"staff-incident-{tag}-1280.png"), full_page=True)
    assert FollowUpCase.objects.filter(incident=incident, assignee__username="agent").count() == 3

    for i, owner in enumerate(owners):
        shop_ctx = browser.new_context(locale=locale, viewport={"width": 375, "height": 812})
        shop_page = shop_ctx.new_page()
        login(shop_page, live_server.url, owner.username, "correct-horse-battery", t["login"], "/m/notifications/")
        expect(shop_page.locator("main")).to_contain_text(seen)
        expect(shop_page.locator("main")).to_contain_text("channel back")
        shop_page.screenshot(path=str(ARTIFACTS / f"merchant-incident-update-{i}-{tag}-375.png"), full_page=True)
        shop_ctx.close()
    ctx.close()
