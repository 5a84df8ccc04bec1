"""The one door for status, on the real database."""

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.lifecycle import Status
from settlement.models import SettlementEvent, Transaction
from settlement.services.events import EventInput, events_apply
from tests.factories import MerchantFactory, make_transaction, push
from tests.settlement.lifecycles import arrivals, in_order_status, lifecycles

pytestmark = pytest.mark.django_db


def test_an_applied_event_moves_the_status_and_writes_its_row(merchant):
    txn = make_transaction(merchant=merchant)
    result = push(txn, "cleared", event_id="e-1")
    assert result.result == "applied"
    assert txn.status == Status.CLEARED
    row = SettlementEvent.objects.get(event_id="e-1")
    assert (row.from_status, row.to_status, row.outcome, row.source) == ("captured", "cleared", "applied", "push")
    assert row.received_at >= row.occurred_at - timedelta(seconds=1)


def test_creation_writes_the_captured_event(merchant):
    txn = make_transaction(merchant=merchant)
    assert list(txn.events.values_list("type", "to_status")) == [("captured", "captured")]


def test_same_event_id_same_body_is_a_duplicate_with_no_effect(merchant):
    txn = make_transaction(merchant=merchant)
    at = timezone.now()
    assert push(txn, "cleared", at, event_id="e-1").result == "applied"
    assert push(txn, "cleared", at, event_id="e-1").result == "duplicate"
    assert SettlementEvent.objects.filter(event_id="e-1").count() == 1


def test_same_event_id_different_body_is_a_conflict_and_leaves_the_original(merchant):
    txn = make_transaction(merchant=merchant)
    at = timezone.now()
    push(txn, "cleared", at, event_id="e-1")
    result = push(txn, "settled", at, event_id="e-1")
    assert (result.result, result.code) == ("rejected", "idempotency_conflict")
    assert txn.status == Status.CLEARED
    assert SettlementEvent.objects.get(event_id="e-1").type == "cleared"


def test_an_older_event_is_stored_as_stale_and_does_not_move_back(merchant):
    txn = make_transaction(merchant=merchant)
    now = timezone.now()
    push(txn, "credited", now)
    result = push(txn, "settled", now - timedelta(minutes=30), event_id="late-settle")
    assert result.result == "stale"
    assert txn.status == Status.CREDITED
    assert SettlementEvent.objects.get(event_id="late-settle").outcome == "stale"
    assert txn.settled_at == now - timedelta(minutes=30)


def test_an_impossible_transition_is_rejected_and_not_stored(merchant):
    txn = make_transaction(merchant=merchant)
    now = timezone.now()
    push(txn, "settled", now - timedelta(minutes=5))
    result = push(txn, "reversed", now, event_id="bad")
    assert (result.result, result.code) == ("rejected", "invalid_transition")
    assert not SettlementEvent.objects.filter(event_id="bad").exists()


def test_a_later_event_after_the_final_one_is_stored_as_contradicting_not_applied(merchant):
    txn = make_transaction(merchant=merchant)
    now = timezone.now()
    push(txn, "credited", now - timedelta(minutes=5))
    result = push(txn, "returned", now, event_id="bad")
    assert (result.result, result.code) == ("contradicts_final", "transaction_final")
    assert txn.status == Status.CREDITED
    row = SettlementEvent.objects.get(event_id="bad")
    assert (row.outcome, row.from_status, row.to_status) == ("contradicts_final", "credited", "credited")


def test_bad_items_are_rejected_one_by_one(merchant):
    txn = make_transaction(merchant=merchant)
    now = timezone.now()
    results = events_apply(
        channel=txn.channel,
        source="push",
        events=[
            EventInput("a", "no-such-ref", "cleared", now),
            EventInput("b", txn.reference, "exploded", now),
            EventInput("c", txn.reference, "cleared", now.replace(tzinfo=None)),
            EventInput("d", txn.reference, "cleared", now + timedelta(hours=1)),
            EventInput("e", txn.reference, "cleared", now),
        ],
    )
    assert [(r.result, r.code) for r in results] == [
        ("rejected", "unknown_reference"),
        ("rejected", "invalid_event_type"),
        ("rejected", "naive_datetime"),
        ("rejected", "occurred_in_future"),
        ("applied", ""),
    ]
    txn.refresh_from_db()
    assert txn.status == Status.CLEARED


def test_final_status_stops_polling(merchant):
    txn = make_transaction(merchant=merchant)
    assert txn.next_poll_at is not None
    push(txn, "credited")
    assert txn.next_poll_at is None and txn.credited_at is not None


def test_another_channels_reference_is_unknown(merchant):
    txn = make_transaction(merchant=merchant)
    other = MerchantFactory()
    result = events_apply(channel=other.channel, source="push",
                          events=[EventInput("x", txn.reference, "cleared", timezone.now())])[0]
    assert result.code == "unknown_reference"


@pytest.mark.parametrize("size", [1, 100])
def test_a_batch_costs_a_constant_number_of_queries(merchant, size):
    txns = [make_transaction(merchant=merchant) for _ in range(size)]
    now = timezone.now()
    events = [EventInput(f"q{size}-{i}", t.reference, "cleared", now) for i, t in enumerate(txns)]
    with CaptureQueriesContext(connection) as queries:
        results = events_apply(channel=merchant.channel, events=events, source="push")
    assert {r.result for r in results} == {"applied"}
    # lock the rows, read seen ids + known events, insert events, update rows
    statements = [q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    assert len(statements) == 4


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_delivery_order_through_the_service_ends_in_the_in_order_state(merchant, data):
    events = data.draw(lifecycles())
    txn = make_transaction(merchant=merchant)
    for kind, at, key in arrivals(events, data.draw):
        result = push(txn, kind, at, event_id=f"{txn.reference}-{key}")
        assert result.result != "rejected", result
    assert txn.status == in_order_status(events)
    # system events (the capture, a re-settled swipe's new deadline) are not pushed ones
    assert txn.events.exclude(type__in=["captured", "rescheduled"]).count() == len(events)


@pytest.mark.django_db(transaction=True)
def test_the_same_event_from_20_threads_is_applied_once():
    txn = make_transaction()
    at = timezone.now()
    results, errors = [], []
    barrier = threading.Barrier(20)

    def worker():
        try:
            barrier.wait()
            results.append(events_apply(channel=txn.channel, source="push",
                                        events=[EventInput("storm", txn.reference, "cleared", at)])[0].result)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == ["applied"] + ["duplicate"] * 19
    assert SettlementEvent.objects.filter(event_id="storm").count() == 1
    assert Transaction.objects.get(pk=txn.pk).status == Status.CLEARED


@pytest.mark.django_db(transaction=True)
def test_concurrent_different_events_on_one_swipe_converge():
    txn = make_transaction()
    now = timezone.now()
    kinds = [("cleared", 1), ("settled", 2), ("credited", 3)] * 3
    barrier = threading.Barrier(len(kinds))
    errors = []

    def worker(i, kind, minute):
        try:
            barrier.wait()
            events_apply(channel=txn.channel, source="poll",
                         events=[EventInput(f"c-{kind}", txn.reference, kind, now - timedelta(minutes=10 - minute))])
        except Exception as exc:  # pragma: no cover
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, k, m)) for i, (k, m) in enumerate(kinds)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    txn.refresh_from_db()
    assert txn.status == Status.CREDITED
    assert txn.events.exclude(type="captured").count() == 3
