"""The audit trail (issue 15, item 8): who changed which channel setting, secret,
calendar day or year, membership, payout or token, when, old -> new; shown to
supervisors on /staff/audit/ and read-only in the admin."""

from datetime import date, time

import pytest
from auditlog.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels.calendar_edit import calendar_days_set
from channels.models import CalendarDay, CalendarYear, Channel
from channels.services import channel_rotate_secret
from config.audit import acting_as
from tests.factories import ChannelFactory, MembershipFactory, UserFactory, china_calendar
from tests.merchants.conftest import build_shop

pytestmark = pytest.mark.django_db
AUDIT = "/staff/audit/"


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    from settlement.tasks import recompute_deadlines

    monkeypatch.setattr(recompute_deadlines, "delay", lambda *a, **k: None)


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


def _entries(model: str):
    return list(LogEntry.objects.filter(content_type__model=model).order_by("timestamp", "pk"))


def test_a_change_of_a_channel_setting_names_who_old_and_new(client, root, supervisor_user):
    channel = ChannelFactory(code="acq", cutoff_time=time(23, 0))
    with acting_as(root):
        channel.cutoff_time = time(22, 30)
        channel.save()
    entry = _entries("channel")[-1]
    assert entry.actor == root and entry.action == LogEntry.Action.UPDATE
    assert entry.changes["cutoff_time"] == ["23:00:00", "22:30:00"]
    client.force_login(supervisor_user)
    html = client.get(AUDIT, {"kind": "channel"}).content.decode()
    assert "cutoff_time" in html and "23:00:00 → 22:30:00" in html and "root" in html


def test_the_pollers_own_writes_leave_no_rows(db):
    channel = ChannelFactory(code="acq")
    before = len(_entries("channel"))
    channel.health, channel.consecutive_poll_failures = Channel.Health.DOWN, 3
    channel.save(update_fields=["health", "consecutive_poll_failures"])
    assert len(_entries("channel")) == before


def test_a_secret_rotation_is_logged_with_the_secret_masked(supervisor_user):
    channel = ChannelFactory(code="acq")
    with acting_as(supervisor_user):
        secret = channel_rotate_secret(channel=channel)
    entry = _entries("channelsecret")[-1]
    assert entry.actor == supervisor_user and entry.action == LogEntry.Action.CREATE
    assert secret not in str(entry.changes) and secret[:20] not in str(entry.changes)
    assert entry.changes["secret"][1] == f"…{secret[-4:]}"


def test_the_calendar_door_logs_every_changed_day_in_one_insert(supervisor_user):
    cn = china_calendar()
    CalendarDay.objects.filter(calendar=cn, date__year=2031).delete()
    CalendarDay.objects.create(calendar=cn, date=date(2031, 1, 2), kind="holiday", name="old")
    CalendarDay.objects.create(calendar=cn, date=date(2031, 1, 3), kind="holiday", name="gone")
    with acting_as(supervisor_user), CaptureQueriesContext(connection) as queries:
        calendar_days_set(calendar=cn, days={
            date(2031, 1, 1): ("holiday", "New Year"), date(2031, 1, 2): ("workday", "old"),
            date(2031, 1, 3): ("ordinary", ""), date(2031, 1, 6): ("ordinary", ""),  # already ordinary: no row
        }, source="test")
    inserts = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "auditlog_logentry"')]
    assert len(inserts) == 1
    rows = {e.additional_data["date"]: e for e in _entries("calendarday") if e.additional_data["date"] > "2031"}
    assert set(rows) == {"2031-01-01", "2031-01-02", "2031-01-03"}
    assert rows["2031-01-01"].changes == {"kind": ["ordinary", "holiday"], "name": ["", "New Year"]}
    assert rows["2031-01-02"].changes == {"kind": ["holiday", "workday"]}
    assert rows["2031-01-03"].action == LogEntry.Action.DELETE
    assert {e.actor for e in rows.values()} == {supervisor_user}


def test_the_staff_calendar_editor_leaves_day_and_year_rows_with_the_supervisor(client, supervisor_user):
    cn = china_calendar()
    CalendarYear.objects.filter(calendar=cn, year=2027).delete()
    CalendarDay.objects.filter(calendar=cn, date__year=2027).delete()
    client.force_login(supervisor_user)
    client.post("/staff/calendars/CN/2027/", {"action": "toggle", "day": "2027-01-01"})
    day = _entries("calendarday")[-1]
    assert day.actor == supervisor_user and day.additional_data["date"] == "2027-01-01"
    with acting_as(supervisor_user):
        from channels.calendar_edit import calendar_year_mark
        calendar_year_mark(calendar=cn, year=2027, complete=True)
    year = _entries("calendaryear")[-1]
    assert year.actor == supervisor_user and year.changes["complete"][1] is True
    html = client.get(AUDIT, {"kind": "day"}).content.decode()
    assert "CN 2027-01-01" in html and "ordinary → holiday" in html


def test_membership_and_payout_changes_are_logged(client, root, merchant):
    shop = build_shop(merchant, tag="A")
    client.force_login(root)
    membership = MembershipFactory(user=UserFactory(username="leaver"), merchant=shop.merchant)
    client.post(f"/admin/merchants/membership/{membership.pk}/delete/", {"post": "yes"})
    entry = _entries("membership")[-1]
    assert entry.action == LogEntry.Action.DELETE and entry.actor == root
    assert entry.remote_addr == "127.0.0.1"  # config.audit: the address the lockout uses
    payout = shop.payout
    old = str(payout.amount)
    payout.amount += 1
    payout.save(update_fields=["amount"])
    entry = _entries("payout")[-1]
    assert entry.changes["amount"] == [old, str(payout.amount)] and entry.actor is None  # the system, not a person


def test_the_audit_page_filters(client, supervisor_user, root):
    channel = ChannelFactory(code="acq")
    with acting_as(root):
        channel.grace_minutes = 30
        channel.save()
    with acting_as(supervisor_user):
        channel.grace_minutes = 45
        channel.save()
    client.force_login(supervisor_user)
    assert client.get(AUDIT, {"actor": "root"}).content.decode().count('class="audit-row"') == 1
    assert client.get(AUDIT, {"kind": "payout"}).content.decode().count('class="audit-row"') == 0
    assert client.get(AUDIT, {"since": "2999-01-01"}).content.decode().count('class="audit-row"') == 0
    assert client.get(AUDIT, {"object": "acq"}).content.decode().count('class="audit-row"') >= 2
    assert client.get(AUDIT, {"since": "not a date"}).status_code == 400


def test_agents_and_merchants_do_not_see_the_trail(client, staff_user, merchant_user):
    for user in (staff_user, merchant_user):
        client.force_login(user)
        assert client.get(AUDIT).status_code == 403


def test_the_admin_trail_is_read_only(client, root):
    ChannelFactory(code="acq")
    client.force_login(root)
    assert client.get("/admin/auditlog/logentry/").status_code == 200
    assert client.get("/admin/auditlog/logentry/add/").status_code == 403
    entry = LogEntry.objects.first()
    assert client.post(f"/admin/auditlog/logentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_the_nav_links_the_trail_for_the_roles_that_may_read_it(client, staff_user, supervisor_user, admin_user,
                                                                merchant_user):
    link = 'href="/staff/audit/"'
    for user, sees in ((staff_user, False), (supervisor_user, True), (admin_user, True), (merchant_user, False)):
        client.force_login(user)
        page = client.get("/staff/" if user.is_staff else "/m/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
        assert (link in page) == sees, user.username
        if sees:  # the link's page opens for them; the agent's would be a 403
            assert client.get(AUDIT).status_code == 200
    client.force_login(supervisor_user)
    page = client.get("/staff/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert 'data-testid="nav-audit">审计记录</a>' in page
