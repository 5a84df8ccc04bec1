"""Staff fill next year's calendar in a real browser: banner -> year editor -> pasted
(made-up demo) notice -> preview -> save and complete."""

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import User
from playwright.sync_api import expect

from channels.models import CalendarDay, CalendarYear
from tests.factories import MerchantFactory, UserFactory

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_fill_2027_from_the_notice(live_server, page, monkeypatch):
    # The banner shows from 1 November (next year's calendar as a task) and the demo notice
    # is 2027's: the server's clock is 2 December 2026 whatever today is. (The browser keeps
    # its own clock; Django's cookies carry Max-Age, which the browser counts from now.)
    with time_machine.travel(datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True):
        _fill_2027(live_server, page, monkeypatch)


def _fill_2027(live_server, page, monkeypatch):
    from settlement.tasks import recompute_deadlines

    monkeypatch.setattr(recompute_deadlines, "delay", lambda *a, **k: None)  # no broker needed
    merchant = MerchantFactory()
    cal = merchant.channel.calendar
    CalendarYear.objects.filter(calendar=cal, year=2027).delete()
    UserFactory(username="agent", is_staff=True, password="correct-horse-battery")
    from django.contrib.auth.models import Group

    User.objects.get(username="agent").groups.add(Group.objects.get_or_create(name="supervisor")[0])
    page.goto(f"{live_server.url}/accounts/login/?next=/staff/")
    page.fill("#id_username", "agent")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    banner = page.locator(f"#calendar-banner-{cal.code}")
    expect(banner).to_be_visible()  # the server's clock is December 2026
    banner.locator("a").click()
    expect(page.locator("#year-state")).to_be_visible()
    page.click("#demo-notice")
    expect(page.locator("#notice-text")).to_have_value(__import__("re").compile("虚构"))
    page.click("button[value=preview]")
    expect(page.locator("#preview-summary")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "calendar_2027_preview.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())  # static/js/calendar_year.js asks first
    page.click("button[value=apply]")
    expect(page.locator(".messages")).to_be_visible()
    assert CalendarYear.objects.get(calendar=cal, year=2027).complete
    assert CalendarDay.objects.filter(calendar=cal, date__year=2027).count() == 28 + 5
    page.screenshot(path=str(ARTIFACTS / "calendar_2027_saved.png"), full_page=True)
