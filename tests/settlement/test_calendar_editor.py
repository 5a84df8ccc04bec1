"""Next year's calendar as a visible task: the queue banner and the staff year editor."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from channels.models import CalendarDay, CalendarYear
from settlement.models import DeadlineRecompute
from settlement.staff.calendars import DEMO_NOTICE
from tests.factories import china_calendar

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
URL = "/staff/calendars/CN/2027/"


@pytest.fixture
def cn(merchant):
    calendar = china_calendar()
    CalendarYear.objects.filter(calendar=calendar, year=2027).delete()
    CalendarDay.objects.filter(calendar=calendar, date__year=2027).delete()
    return calendar


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    from settlement.tasks import recompute_deadlines

    monkeypatch.setattr(recompute_deadlines, "delay", lambda *a, **k: None)


def test_the_queue_shows_the_banner_from_1_november_until_the_year_is_complete(client, staff_user, cn):
    with time_machine.travel(datetime(2026, 10, 31, 12, 0, tzinfo=SH), tick=False):
        client.force_login(staff_user)
        assert 'id="calendar-banner-CN"' not in client.get("/staff/").content.decode()
    with time_machine.travel(datetime(2026, 11, 1, 9, 0, tzinfo=SH), tick=False):
        client.force_login(staff_user)
        html = client.get("/staff/").content.decode()
        assert 'id="calendar-banner-CN"' in html and f'href="{URL}"' in html
        CalendarYear.objects.create(calendar=cn, year=2027, complete=True)
        assert 'id="calendar-banner-CN"' not in client.get("/staff/").content.decode()


def test_only_staff_reach_the_editor(client, merchant_user, cn):
    assert client.get(URL).status_code == 302
    client.force_login(merchant_user)
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"action": "toggle", "day": "2027-01-01"}).status_code == 403
    assert not CalendarDay.objects.filter(calendar=cn, date__year=2027).exists()


def test_the_grid_shows_the_librarys_guesses_as_guesses(client, supervisor_user, cn):
    client.force_login(supervisor_user)
    html = client.get(URL).content.decode()
    assert html.count('name="day" value="2027-') == 365
    new_year = html[html.index('value="2027-01-01"'):][:200]
    assert "guess" in new_year and 'id="year-state"' in html
    assert "<script>" not in html and " style=" not in html and " onclick=" not in html


def test_clicking_a_day_toggles_it(client, supervisor_user, cn):
    client.force_login(supervisor_user)
    response = client.post(URL, {"action": "toggle", "day": "2027-01-01"})
    assert response.status_code == 302 and response["Location"].endswith("#m1")
    assert CalendarDay.objects.get(calendar=cn, date=date(2027, 1, 1)).kind == "holiday"
    client.post(URL, {"action": "toggle", "day": "2027-01-01"})
    assert not CalendarDay.objects.filter(calendar=cn, date=date(2027, 1, 1)).exists()
    client.post(URL, {"action": "toggle", "day": "2027-02-20"})  # a Saturday: a make-up working day
    assert CalendarDay.objects.get(calendar=cn, date=date(2027, 2, 20)).kind == "workday"
    # an incomplete year moves no deadline, so nothing to recompute yet
    assert not DeadlineRecompute.objects.filter(calendar=cn).exclude(detail__source="holidays").filter(
        created_at__year=2027).exists()


def test_a_pasted_notice_is_previewed_then_saved_and_completes_the_year(client, supervisor_user, cn):
    client.force_login(supervisor_user)
    text = DEMO_NOTICE.read_text(encoding="utf-8")
    assert "虚构" in text and "MADE-UP" in text  # the demo notice says what it is
    preview = client.post(URL, {"action": "preview", "notice": text})
    html = preview.content.decode()
    assert preview.status_code == 200 and 'id="preview-summary"' in html
    assert not CalendarDay.objects.filter(calendar=cn, date__year=2027).exists()  # nothing saved yet
    before = DeadlineRecompute.objects.count()
    saved = client.post(URL, {"action": "apply", "notice": text, "complete": "on"})
    assert saved.status_code == 302
    assert CalendarYear.objects.get(calendar=cn, year=2027).complete
    assert CalendarDay.objects.filter(calendar=cn, date__year=2027, kind="holiday").count() == 3 + 8 + 3 + 5 + 1 + 1 + 7
    assert CalendarDay.objects.get(calendar=cn, date=date(2027, 2, 20)).kind == "workday"
    request = DeadlineRecompute.objects.order_by("-id").first()
    assert DeadlineRecompute.objects.count() == before + 1
    assert (request.reason, request.detail["year"]) == ("calendar_year", 2027)


@pytest.mark.parametrize(("text", "code"), [
    ("随便写点什么", "notice_year_missing"),
    ("国务院办公厅关于2026年部分节假日安排的通知\n一、元旦：1月1日放假。", "notice_other_year"),
])
def test_a_bad_notice_is_an_error_with_a_code_and_saves_nothing(client, supervisor_user, cn, text, code):
    client.force_login(supervisor_user)
    response = client.post(URL, {"action": "apply", "notice": text, "complete": "on"}, follow=True)
    assert response.status_code == 200 and code in response.content.decode()
    assert not CalendarYear.objects.filter(calendar=cn, year=2027).exists()


def test_the_demo_link_fills_in_the_made_up_notice(client, supervisor_user, cn):
    client.force_login(supervisor_user)
    html = client.get(URL).content.decode()
    assert 'id="demo-notice"' in html
    assert "虚构" in client.get(URL + "?demo_notice=1").content.decode()


def test_marking_the_year_complete_records_a_recompute(client, supervisor_user, cn):
    client.force_login(supervisor_user)
    client.post(URL, {"action": "complete"})
    assert CalendarYear.objects.get(calendar=cn, year=2027).complete
    assert DeadlineRecompute.objects.filter(calendar=cn, reason="calendar_year", detail__year=2027).count() == 1
    client.post(URL, {"action": "complete"})  # again: no change, no second recompute
    assert DeadlineRecompute.objects.filter(calendar=cn, reason="calendar_year", detail__year=2027).count() == 1
