"""The notification outbox (issue 9 item 7): each row is the email's work item, sent
once, retried with backoff by the beat sweeper, given up after N attempts with the
reason on the row and in the admin."""

import threading
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django.utils import timezone

from settlement.models import Notification
from settlement.services.notifications import (
    email_backoff,
    notifications_create,
    notifications_send_emails,
    notifications_sweep_emails,
)
from tests.factories import MerchantFactory, make_transaction

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


class FlakyBackend(LocmemBackend):
    """Fails while `failures` > 0, then delivers like locmem."""

    failures = 0

    def send_messages(self, messages):
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise ConnectionRefusedError("smtp down")
        return super().send_messages(messages)


class SlowBackend(LocmemBackend):
    """Holds each send for a moment, so concurrent senders overlap."""

    lock = threading.Lock()

    def send_messages(self, messages):
        time.sleep(0.05)
        with SlowBackend.lock:
            return super().send_messages(messages)


@pytest.fixture
def outbox_settings(settings):
    settings.EMAIL_BACKEND = LOCMEM
    settings.NOTIFICATION_EMAIL_SWEEP_AFTER_SECONDS = 60
    settings.NOTIFICATION_EMAIL_LEASE_SECONDS = 120
    settings.NOTIFICATION_EMAIL_RETRY_BASE_SECONDS = 60
    settings.NOTIFICATION_EMAIL_RETRY_MAX_SECONDS = 600
    settings.NOTIFICATION_EMAIL_MAX_ATTEMPTS = 4
    FlakyBackend.failures = 0
    return settings


def new_notifications(count: int = 1, *, now=None, **merchant_fields) -> list[int]:
    merchant = MerchantFactory(**merchant_fields)
    txns = [make_transaction(merchant=merchant) for _ in range(count)]
    return notifications_create(
        kind=Notification.Kind.LATE,
        items=[(merchant.id, t.id, None, {"reference": t.reference, "amount": "12.00"}) for t in txns],
        now=now or timezone.now(),
    )


@pytest.mark.django_db
def test_a_new_row_is_left_to_its_task_then_swept_when_the_message_was_lost(outbox_settings):
    # given: a late notification whose Celery message never arrives
    created = timezone.now()
    [nid] = new_notifications(now=created)
    # when / then: inside the grace the sweeper leaves it to its own task ...
    assert notifications_sweep_emails(now=created + timedelta(seconds=59)).sent == 0
    # ... after it, the sweeper sends it, once
    assert notifications_sweep_emails(now=created + timedelta(seconds=61)).sent == 1
    assert notifications_sweep_emails(now=created + timedelta(days=1)).sent == 0
    row = Notification.objects.get(pk=nid)
    assert len(mail.outbox) == 1 and row.emailed_at is not None
    assert row.email_attempts == 1 and row.email_next_attempt_at is None
    assert mail.outbox[0].extra_headers["Message-ID"].startswith(f"<notification-{nid}@")


@pytest.mark.django_db
def test_a_failed_send_is_retried_with_backoff_and_given_up_with_its_reason(outbox_settings):
    outbox_settings.EMAIL_BACKEND = "tests.settlement.test_outbox.FlakyBackend"
    FlakyBackend.failures = 100
    now = timezone.now()
    [nid] = new_notifications(now=now)
    # the task's own send fails: recorded, due again after the base delay
    assert notifications_send_emails(notification_ids=[nid], now=now) == 0
    row = Notification.objects.get(pk=nid)
    assert row.email_attempts == 1 and "ConnectionRefusedError: smtp down" in row.email_last_error
    assert row.email_next_attempt_at == now + timedelta(seconds=60)
    # the task run again (a redelivery) does not send a row a sender already tried
    assert notifications_send_emails(notification_ids=[nid], now=now) == 0
    assert Notification.objects.get(pk=nid).email_attempts == 1
    # backoff doubles: 60 s, 120 s, 240 s; nothing is tried before its time
    waits = []
    for _attempt in range(2, 5):
        due = Notification.objects.get(pk=nid).email_next_attempt_at
        assert notifications_sweep_emails(now=due - timedelta(seconds=1)).failed == 0
        report = notifications_sweep_emails(now=due)
        assert report.failed == 1
        after = Notification.objects.get(pk=nid)
        if after.email_next_attempt_at is not None:
            waits.append((after.email_next_attempt_at - due).total_seconds())
    assert waits == [120, 240]
    # the fourth failure (NOTIFICATION_EMAIL_MAX_ATTEMPTS) gives up, with the reason kept
    row = Notification.objects.get(pk=nid)
    assert row.email_attempts == 4 and row.email_gave_up_at is not None and row.email_next_attempt_at is None
    assert "smtp down" in row.email_last_error and row.emailed_at is None
    FlakyBackend.failures = 0
    assert notifications_sweep_emails(now=now + timedelta(days=30)).sent == 0
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_retry_that_succeeds_clears_the_error(outbox_settings):
    outbox_settings.EMAIL_BACKEND = "tests.settlement.test_outbox.FlakyBackend"
    FlakyBackend.failures = 1
    now = timezone.now()
    [nid] = new_notifications(now=now)
    assert notifications_send_emails(notification_ids=[nid], now=now) == 0
    assert notifications_sweep_emails(now=now + timedelta(seconds=60)).sent == 1
    row = Notification.objects.get(pk=nid)
    assert row.emailed_at is not None and row.email_last_error == "" and row.email_attempts == 2
    assert len(mail.outbox) == 1


def test_backoff_is_capped(outbox_settings):
    assert [email_backoff(n).total_seconds() for n in (1, 2, 3, 4, 5, 20)] == [60, 120, 240, 480, 600, 600]


@pytest.mark.django_db
def test_a_merchant_without_email_is_given_up_with_the_reason(outbox_settings):
    now = timezone.now()
    [nid] = new_notifications(now=now, contact_email="")
    assert notifications_send_emails(notification_ids=[nid], now=now) == 0
    row = Notification.objects.get(pk=nid)
    assert row.email_gave_up_at is not None and row.email_last_error == "the merchant has no contact email"
    assert notifications_sweep_emails(now=now + timedelta(days=1)).sent == 0


@pytest.mark.django_db
def test_a_sender_killed_mid_send_frees_the_row_after_its_lease(outbox_settings):
    from settlement.services.notifications import _claim, outbox_pending

    now = timezone.now()
    [nid] = new_notifications(now=now)
    # a sender claims the row and dies before sending (nothing but the claim happened)
    assert _claim(outbox_pending().filter(id=nid), now=now, limit=1) == [nid]
    # while its lease runs, neither the task nor the sweeper touches it
    assert notifications_send_emails(notification_ids=[nid], now=now) == 0
    assert notifications_sweep_emails(now=now + timedelta(seconds=119)).sent == 0
    # after the lease the sweeper sends it
    assert notifications_sweep_emails(now=now + timedelta(seconds=120)).sent == 1
    assert len(mail.outbox) == 1 and Notification.objects.get(pk=nid).email_attempts == 2


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_senders_send_each_row_once(outbox_settings):
    # given: 40 rows whose task and the sweeper (and a second sweeper) run at the same time
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL (SKIP LOCKED between real connections)")
    outbox_settings.EMAIL_BACKEND = "tests.settlement.test_outbox.SlowBackend"
    created = timezone.now() - timedelta(minutes=5)  # past the grace: the sweepers may take them
    ids = new_notifications(40, now=created)
    barrier = threading.Barrier(3)
    results, errors = [], []

    def run(job):
        try:
            barrier.wait()
            results.append(job())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    jobs = [
        lambda: notifications_send_emails(notification_ids=ids),
        lambda: notifications_sweep_emails(batch_size=5).sent,
        lambda: notifications_sweep_emails(batch_size=5).sent,
    ]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then: every row sent exactly once, in one attempt
    assert errors == []
    assert sum(results) == 40
    sent_to = sorted(m.extra_headers["Message-ID"] for m in mail.outbox)
    assert len(sent_to) == 40 and len(set(sent_to)) == 40
    assert set(Notification.objects.values_list("email_attempts", flat=True)) == {1}
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


@pytest.mark.django_db
def test_the_admin_shows_why_an_email_is_pending_or_given_up(client, staff_user, outbox_settings):
    now = timezone.now()
    [nid] = new_notifications(now=now, contact_email="")
    notifications_send_emails(notification_ids=[nid], now=now)
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    page = client.get("/admin/settlement/notification/?email_gave_up_at__isempty=0")
    assert page.status_code == 200
    assert "the merchant has no contact email" in page.content.decode()
    change = client.get(f"/admin/settlement/notification/{nid}/change/")
    assert change.status_code == 200 and 'name="email_attempts"' not in change.content.decode()


def test_the_sweeper_is_in_the_beat_schedule():
    from django.conf import settings

    from config.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["notifications-sweep"]
    assert entry["task"] == "settlement.tasks.sweep_notification_emails"
    import settlement.tasks  # noqa: F401 - registers the task

    assert entry["task"] in app.tasks


@pytest.mark.django_db
def test_a_broker_down_at_commit_loses_no_email(outbox_settings, monkeypatch, django_capture_on_commit_callbacks):
    # given: the broker refuses the email task when the late scan commits
    from kombu.exceptions import OperationalError as BrokerError

    from settlement.services.delays import delays_flag
    from settlement.tasks import send_notification_emails

    def refuse(ids):
        raise BrokerError("Error 111 connecting to redis")

    monkeypatch.setattr(send_notification_emails, "delay", refuse)
    txn = make_transaction(merchant=MerchantFactory())
    flagged_at = txn.overdue_at + timedelta(minutes=1)
    # when: the scan runs; the doorbell fails after commit without failing the scan
    with django_capture_on_commit_callbacks(execute=True):
        report = delays_flag(now=flagged_at)
    assert report.notifications == 1 and mail.outbox == []
    # then: the sweeper sends it from the row
    assert notifications_sweep_emails(now=flagged_at + timedelta(seconds=61)).sent == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_task_claims_a_batch_at_a_time(outbox_settings):
    # 7 rows, batches of 3: a long list is never leased all at once
    outbox_settings.NOTIFICATION_SWEEP_BATCH_SIZE = 3
    ids = new_notifications(7)
    leased = []
    from settlement.services import notifications as service

    real_claim = service._claim

    def spy(candidates, *, now, limit):
        claimed = real_claim(candidates, now=now, limit=limit)
        leased.append(len(claimed))
        return claimed

    import unittest.mock

    with unittest.mock.patch.object(service, "_claim", spy):
        assert notifications_send_emails(notification_ids=ids) == 7
    assert leased == [3, 3, 1] and len(mail.outbox) == 7
