"""Merchants hear when a deadline moves: the swipe page line and one message per batch."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from channels.calendar_edit import calendar_day_set
from settlement.models import Notification
from settlement.services.notifications import notification_render
from settlement.services.reschedule import recompute_pending
from tests.factories import make_transaction

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
CAPTURED = datetime(2026, 11, 16, 10, 0, tzinfo=SH)


@pytest.fixture
def moved(merchant):
    swipes = [make_transaction(merchant=merchant, captured_at=CAPTURED, amount=a) for a in ("100.00", "28.50")]
    with time_machine.travel(CAPTURED + timedelta(hours=1), tick=False):
        calendar_day_set(calendar=merchant.channel.calendar, day=date(2026, 11, 17), kind="holiday")
        recompute_pending()
    return swipes


@pytest.mark.parametrize(("lang", "line", "why"), [
    ("en", "Expected arrival updated: 2026-11-18 18:00 because", "the holiday calendar changed (2026-11-17)"),
    ("zh-hans", "预计到账时间已更新：2026-11-18 18:00 原因：", "节假日日历已调整（2026-11-17）"),
])
def test_the_swipe_page_says_the_deadline_moved_and_why(client, merchant_user, moved, lang, line, why):
    client.force_login(merchant_user)
    body = client.get(f"/m/swipes/{moved[0].pk}/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert line in body and why in body


@pytest.mark.parametrize(("lang", "title", "text"), [
    ("en", "Expected arrival updated for 2 payment(s)", "2 card payment(s) totalling ¥128.50"),
    ("zh-hans", "2笔款项的预计到账时间已更新", "共2笔刷卡款（合计¥128.50）"),
])
def test_one_message_for_the_batch_in_the_merchants_language(merchant, moved, lang, title, text):
    from django.utils import translation

    notification = Notification.objects.get(merchant=merchant, kind="rescheduled")
    assert notification.data["count"] == 2 and notification.transaction_id is None
    with translation.override(lang):
        got_title, body = notification_render(notification)
    assert got_title == title and text in body and "2026-11-18 18:00" in body
