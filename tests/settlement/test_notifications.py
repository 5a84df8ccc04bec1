"""What merchants are told, in their language, once per swipe per state."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.utils import translation

from settlement.models import Notification
from settlement.services.delays import delays_flag
from settlement.services.notifications import notification_render, notifications_send_emails
from tests.factories import MerchantFactory, make_transaction, push

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
CAPTURED = datetime(2026, 11, 16, 10, 0, tzinfo=SH)


def flag(txn):
    return delays_flag(now=txn.overdue_at + timedelta(minutes=1))


@pytest.mark.parametrize(("language", "words"), [("en", "is late"), ("zh-hans", "延迟到账")])
def test_late_email_in_the_merchants_language(language, words, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    merchant = MerchantFactory(language=language)
    txn = make_transaction(merchant=merchant, amount="1280.00", captured_at=CAPTURED)
    report = flag(txn)
    assert notifications_send_emails(notification_ids=report.notification_ids) == 1
    message = mail.outbox[0]
    assert message.to == [merchant.contact_email]
    assert "1,280.00" in message.subject
    # what happened, the new estimate, the case reference
    assert txn.reference in message.body and "L2611-" in message.body
    assert "2026-11-17 18:00" in message.body  # the old promise, in Shanghai time
    # rendered under translation.override(merchant.language) from the zh_Hans catalogue
    assert words in message.subject


def test_each_email_goes_once(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    txn = make_transaction(merchant=MerchantFactory(), captured_at=CAPTURED)
    ids = flag(txn).notification_ids
    assert notifications_send_emails(notification_ids=ids) == 1
    assert notifications_send_emails(notification_ids=ids) == 0
    assert len(mail.outbox) == 1 and Notification.objects.get().emailed_at is not None


def test_at_most_one_notification_per_swipe_per_state(merchant):
    txn = make_transaction(merchant=merchant, captured_at=CAPTURED)
    flag(txn)
    # detection "runs twice": the row is re-flagged by hand, the scan finds it again
    type(txn).objects.filter(pk=txn.pk).update(delayed_since=None)
    report = flag(txn)
    assert report.flagged == 1 and report.notifications == 0 and report.cases_opened == 0
    push(txn, "credited", txn.overdue_at + timedelta(hours=1))
    assert list(Notification.objects.order_by("id").values_list("kind", flat=True)) == ["late", "arrived"]


def test_arrived_notification_renders_the_delay(merchant):
    txn = make_transaction(merchant=merchant, amount="88.00", captured_at=CAPTURED)
    flag(txn)
    push(txn, "credited", txn.expected_by + timedelta(hours=3))
    note = Notification.objects.get(kind="arrived")
    with translation.override("en"):
        title, body = notification_render(note)
    assert title == "Payment ¥88.00 has arrived"
    assert "3.0 hours later than expected" in body and note.data["case_reference"] in body
