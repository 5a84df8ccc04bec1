"""A support person works a late payment in a real browser (Debian's Chromium)."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from settlement.models import FollowUpCase
from settlement.services.delays import delays_flag
from tests.factories import MerchantFactory, UserFactory, make_transaction

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_filters_claims_notes_and_resolves(live_server, page, monkeypatch):
    from settlement.tasks import send_notification_emails

    monkeypatch.setattr(send_notification_emails, "delay", lambda ids: None)  # no broker needed
    UserFactory(username="agent", is_staff=True, password="correct-horse-battery")
    # Ten days back: late by now whatever today is. Three days back, early on a Monday in
    # Shanghai, was a Friday swipe due later that Monday (T1 over the weekend): the scan ran
    # "in the future" and the case's opening sorted after the agent's actions in its history.
    held = make_transaction(merchant=MerchantFactory(name="老王便利店"), amount="1280.00",
                            captured_at=timezone.now() - timedelta(days=10))
    other = make_transaction(merchant=MerchantFactory(name="鲜果坊"), amount="66.00",
                             captured_at=timezone.now() - timedelta(days=10))
    assert max(held.overdue_at, other.overdue_at) < timezone.now()
    delays_flag(now=max(held.overdue_at, other.overdue_at) + timedelta(minutes=1))
    FollowUpCase.objects.filter(transaction=held).update(cause="risk_hold")
    case = FollowUpCase.objects.get(transaction=held)

    # log in through the form (django-axes sees authenticate(request=...))
    page.goto(f"{live_server.url}/accounts/login/?next=/staff/")
    page.fill("#id_username", "agent")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    expect(page.locator("#queue-totals")).to_contain_text("2")

    page.wait_for_function("() => window.htmx !== undefined")
    # filter by cause: htmx swaps the table in place and pushes the URL
    page.select_option("select[name=cause]", "risk_hold")
    expect(page.locator(".case-row")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"cause=risk_hold"))
    expect(page.locator(".case-row")).to_contain_text("老王便利店")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "staff_queue_filtered.png"), full_page=True)

    page.click(f"text={case.reference}")
    page.click("#claim")
    expect(page.locator("#assignee")).to_have_text("agent")
    page.click("details:has(#note-form) > summary")
    page.fill("#note-form textarea[name=body]", "已联系收单行，风控复核中 / acquirer reviewing the hold")
    page.click("#note-form button[type=submit]")
    expect(page.locator(".entry-note")).to_contain_text("acquirer reviewing the hold")
    page.click("details:has(#resolve-form) > summary")
    page.select_option("#resolve-form select[name=outcome]", "compensated")
    page.click("#resolve-form button[type=submit]")
    expect(page.locator("#outcome")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "staff_case_resolved.png"), full_page=True)

    case.refresh_from_db()
    assert (case.status, case.outcome, case.assignee.username) == ("resolved", "compensated", "agent")
    assert list(case.entries.values_list("kind", flat=True)) == ["opened", "claimed", "note", "resolved"]
