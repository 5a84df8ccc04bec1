"""Poll answers are judged like pushes (issue 9, items 5 and 6): the same item rules,
a bad item refused alone, a batch that keeps failing to apply bounded; system event ids
are refused from acquirers."""

from datetime import timedelta

import pytest
from django.db import DataError
from django.urls import reverse
from django.utils import timezone

from channels.models import Channel
from settlement.models import SettlementEvent, Transaction
from settlement.services.polling import channel_poll
from tests.factories import MerchantFactory, make_transaction
from tests.fake_acquirer import TARGET, FakeStatusApi, polling_on

pytestmark = pytest.mark.django_db


@pytest.fixture
def polled(fake_status_api):
    """A channel with polling on and the fake status API answering `answers`."""
    merchant = MerchantFactory()
    polling_on(merchant.channel_id)
    return merchant, fake_status_api.knows


def due():
    Transaction.objects.exclude(next_poll_at=None).update(next_poll_at=timezone.now())


def ev(event_id, kind="cleared", minutes=30, **extra):
    return {"event_id": event_id, "type": kind,
            "occurred_at": (timezone.now() - timedelta(minutes=minutes)).isoformat(), **extra}


def test_an_overlong_event_id_in_a_poll_answer_is_refused_alone(polled):
    merchant, answers = polled
    a, b = make_transaction(merchant=merchant), make_transaction(merchant=merchant)
    answers[a.reference] = [ev("x" * 101), ev("a-ok", "cleared", 20)]
    answers[b.reference] = [ev("b-ok", "cleared")]
    report = channel_poll(channel_id=merchant.channel_id)  # on PostgreSQL this used to raise DataError
    assert (report.applied, report.rejected, report.counts["too_long"]) == (2, 1, 1)
    assert set(SettlementEvent.objects.exclude(type="captured").values_list("event_id", flat=True)) == {"a-ok", "b-ok"}
    assert Transaction.objects.get(pk=a.pk).poll_apply_failures == 0


@pytest.mark.parametrize("item, code", [
    (ev("nul\x00id"), "invalid_characters"),
    (ev("pan", reason="card 4111111111111111"), "full_pan_forbidden"),
    (ev("pan2", terminal_note="4111 1111 1111 1111"), "full_pan_forbidden"),
    ({**ev("naive"), "occurred_at": "2026-11-20T10:00:00"}, "naive_datetime"),
    ({**ev("future"), "occurred_at": "2099-01-01T00:00:00+00:00"}, "occurred_in_future"),
    (ev("delayed:1"), "reserved_event_id"),
    (ev("staff:abc"), "reserved_event_id"),
    (ev("odd", kind="teleported"), "invalid_event_type"),
    (["not", "an", "object"], "invalid_item"),
])
def test_poll_items_get_the_push_rules(polled, item, code):
    merchant, answers = polled
    txn = make_transaction(merchant=merchant)
    answers[txn.reference] = [item, ev("fine", "cleared", 10)]
    report = channel_poll(channel_id=merchant.channel_id)
    assert (report.applied, report.rejected, dict(report.counts)) == (1, 1, {code: 1})
    stored = SettlementEvent.objects.filter(transaction=txn).values_list("event_id", "reason", "payload")
    assert "4111111111111111" not in str(list(stored))


def test_a_batch_that_keeps_failing_to_apply_stops_after_n_and_staff_see_it(polled, monkeypatch, settings, client,
                                                                            staff_user):
    settings.POLL_MAX_APPLY_FAILURES = 3
    merchant, answers = polled
    txns = [make_transaction(merchant=merchant) for _ in range(2)]
    for t in txns:
        answers[t.reference] = [ev(f"e-{t.reference}")]

    def broken(**kwargs):
        raise DataError("value too long for type character varying(100)")

    monkeypatch.setattr("settlement.services.polling.events_apply", broken)
    reports = []
    for _ in range(5):
        due()
        reports.append(channel_poll(channel_id=merchant.channel_id))
    assert [r.claimed for r in reports] == [2, 2, 2, 0, 0]  # bounded: no longer claimed after 3
    assert [r.stopped for r in reports[:3]] == [0, 0, 2]
    for t in Transaction.objects.filter(pk__in=[t.pk for t in txns]):
        assert (t.poll_apply_failures, t.next_poll_at) == (3, None)
    channel = Channel.objects.get(pk=merchant.channel_id)
    assert channel.poll_apply_error.startswith("apply_failed: DataError") and channel.poll_apply_error_at
    assert channel.health == "up"  # our failure, not the acquirer's
    client.force_login(staff_user)
    page = client.get(reverse("staff:queue")).content.decode()
    assert "poll-apply-problem" in page and "apply_failed: DataError" in page
    # after the fix, an operator resumes them: due again, counters clean, banner gone
    from django.core.management import call_command

    call_command("poll_resume", channel.code)
    assert set(Transaction.objects.filter(pk__in=[t.pk for t in txns]).values_list("poll_apply_failures", flat=True)) \
        == {0}
    monkeypatch.undo()
    monkeypatch.setattr(TARGET, FakeStatusApi(answers))
    assert channel_poll(channel_id=merchant.channel_id).applied == 2
    assert "poll-apply-problem" not in client.get(reverse("staff:queue")).content.decode()


def test_a_failure_then_a_good_apply_resets_the_counter_and_the_banner(polled, monkeypatch):
    merchant, answers = polled
    txn = make_transaction(merchant=merchant)
    answers[txn.reference] = [ev("e1")]
    real = channel_poll.__globals__["events_apply"]
    monkeypatch.setattr("settlement.services.polling.events_apply",
                        lambda **kw: (_ for _ in ()).throw(DataError("boom")))
    channel_poll(channel_id=merchant.channel_id)
    assert Transaction.objects.get(pk=txn.pk).poll_apply_failures == 1
    monkeypatch.setattr("settlement.services.polling.events_apply", real)
    due()
    assert channel_poll(channel_id=merchant.channel_id).applied == 1
    assert Transaction.objects.get(pk=txn.pk).poll_apply_failures == 0
    assert Channel.objects.get(pk=merchant.channel_id).poll_apply_error == ""


def test_the_door_refuses_system_event_ids_from_acquirers_whatever_parsed_them():
    from settlement.services.events import EventInput, events_apply

    txn = make_transaction()
    for source in ("push", "poll"):
        [result] = events_apply(channel=txn.channel, source=source, events=[
            EventInput(f"delayed:{txn.pk}", txn.reference, "cleared", timezone.now())])
        assert (result.result, result.code) == ("rejected", "reserved_event_id")
