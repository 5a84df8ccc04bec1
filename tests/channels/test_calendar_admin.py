"""The admin writes calendar days and channel rules through the calendar door, so
in-flight deadlines follow."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from channels.models import CalendarDay
from settlement.models import DeadlineRecompute
from tests.factories import UserFactory, china_calendar

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def admin_client(client, monkeypatch):
    from settlement.tasks import recompute_deadlines

    monkeypatch.setattr(recompute_deadlines, "delay", lambda *a, **k: None)
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    return client


def test_a_day_added_in_the_admin_records_a_recompute(admin_client):
    cal = china_calendar()
    response = admin_client.post("/admin/channels/calendarday/add/", {
        "calendar": cal.pk, "date": "2026-11-17", "kind": "holiday", "name": "测试"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert CalendarDay.objects.get(calendar=cal, date="2026-11-17").kind == "holiday"
    request = DeadlineRecompute.objects.get(reason="calendar_day", detail__source="admin")
    assert request.detail["days"] == [["2026-11-17", "holiday"]]
    assert request.since == datetime(2026, 11, 16, 0, 0, tzinfo=SH)


def test_a_channel_rule_change_in_the_admin_records_a_recompute(admin_client, merchant):
    channel = merchant.channel
    page = admin_client.get(f"/admin/channels/channel/{channel.pk}/change/")
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update({"grace_minutes": 240, "secrets-TOTAL_FORMS": 0, "secrets-INITIAL_FORMS": 0})
    for key in ("cutoff_time", "arrival_by_time", "day_start_time"):
        data[key] = str(data[key])[:8]
    response = admin_client.post(f"/admin/channels/channel/{channel.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    request = DeadlineRecompute.objects.get(reason="channel_rules")
    assert (request.channel_id, request.detail["fields"]) == (channel.pk, ["grace_minutes"])
