"""The strict Content-Security-Policy holds in a real browser (Debian's Chromium): the
merchant and staff pages, htmx and our static scripts run with no violation at all."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from settlement.models import FollowUpCase
from settlement.services.delays import delays_flag
from tests.factories import MerchantFactory, UserFactory, make_transaction
from tests.merchants.conftest import build_shop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture
def watched(page):
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(RECORD_VIOLATIONS)

    def visit(url: str) -> None:
        response = page.goto(url)
        assert response.ok, url
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], url
        assert console == [], url

    visit.console = console
    return visit


def login(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")


def test_merchant_pages_run_under_the_policy(live_server, page, watched, merchant, merchant_user):
    shop = build_shop(merchant, tag="A")
    watched(f"{live_server.url}/accounts/login/")
    login(page, live_server, "shopkeeper")
    for path in ("/m/", "/m/swipes/", f"/m/swipes/{shop.late.pk}/", "/m/arrivals/",
                 f"/m/arrivals/{shop.payout.pk}/", "/m/cases/", f"/m/cases/{shop.case.pk}/",
                 "/m/notifications/", "/m/export/", "/api/docs/"):
        watched(f"{live_server.url}{path}")
    # our static script does what the inline handler did: the language picker submits
    page.goto(f"{live_server.url}/m/")
    page.wait_for_function("() => window.htmx !== undefined")
    page.select_option("#lang-select", "en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert page.evaluate("window.__csp") == [] and watched.console == []


def test_staff_pages_run_under_the_policy(live_server, page, watched, monkeypatch):
    from settlement.tasks import send_notification_emails

    monkeypatch.setattr(send_notification_emails, "delay", lambda ids: None)
    UserFactory(username="agent", is_staff=True, is_superuser=True, password="correct-horse-battery")
    txn = make_transaction(merchant=MerchantFactory(), captured_at=timezone.now() - timedelta(days=3))
    delays_flag(now=txn.overdue_at + timedelta(minutes=1))
    case = FollowUpCase.objects.get(transaction=txn)
    login(page, live_server, "agent")
    for path in ("/staff/", f"/staff/cases/{case.pk}/", "/staff/?cause=risk_hold", "/admin/",
                 "/admin/channels/channel/", "/admin/channels/channel/add/"):
        watched(f"{live_server.url}{path}")
    # htmx filtering swaps the table in place, still without a violation
    page.goto(f"{live_server.url}/staff/")
    page.wait_for_function("() => window.htmx !== undefined")
    page.select_option("select[name=cause]", "risk_hold")
    expect(page.locator(".case-row")).to_have_count(0)
    assert page.evaluate("window.__csp") == [] and watched.console == []
