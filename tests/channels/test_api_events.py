"""POST events: through the one door (events_apply, source "push"), per-item results."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.models import SettlementEvent, Transaction
from tests.channels.conftest import event, swipe
from tests.settlement.lifecycles import arrivals, in_order_status, lifecycles

pytestmark = pytest.mark.django_db


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


@pytest.fixture
def txn(acquirer, terminal):
    acquirer.post("transactions", {"transactions": [swipe("R1", captured_at=(
        timezone.now() - timedelta(days=1)).isoformat())]})
    return Transaction.objects.get(reference="R1")


def test_an_event_is_applied_once_and_recorded_as_pushed(acquirer, txn):
    [result] = results(acquirer.post("events", {"events": [event("e1", kind="cleared", batch_no="B7", n=3)]}))
    assert (result["result"], result["status"], result["error"]) == ("applied", "cleared", None)
    row = SettlementEvent.objects.get(event_id="e1")
    assert (row.source, row.from_status, row.to_status) == ("push", "captured", "cleared")
    assert row.payload == {"batch_no": "B7", "n": 3}  # what else the acquirer sent, as JSON
    txn.refresh_from_db()
    assert txn.status == "cleared"


def test_same_id_same_body_is_duplicate_and_changed_body_is_a_conflict(acquirer, txn):
    item = event("e1", kind="cleared")
    results(acquirer.post("events", {"events": [item]}))
    dup, conflict = results(acquirer.post("events", {"events": [item, {**item, "type": "settled"}]}))
    assert dup["result"] == "duplicate"
    assert (conflict["result"], conflict["error"]["code"]) == ("rejected", "idempotency_conflict")
    assert SettlementEvent.objects.get(event_id="e1").type == "cleared"
    txn.refresh_from_db()
    assert txn.status == "cleared"


def test_an_older_event_is_stale_and_does_not_move_back(acquirer, txn):
    now = timezone.now()
    results(acquirer.post("events", {"events": [event("e2", kind="settled", occurred_at=now - timedelta(minutes=5))]}))
    [late] = results(acquirer.post("events", {"events": [
        event("e1", kind="cleared", occurred_at=now - timedelta(minutes=50))]}))
    assert (late["result"], late["status"]) == ("stale", "settled")
    assert SettlementEvent.objects.get(event_id="e1").outcome == "stale"


@pytest.mark.parametrize(
    "item, code",
    [
        (event("x1", reference="NOPE"), "unknown_reference"),
        (event("x2", kind="teleported"), "invalid_event_type"),
        (event("x3", occurred_at="2026-11-20T10:00:00"), "naive_datetime"),
        (event("x4", occurred_at="not a date"), "invalid_datetime"),
        (event("x5", occurred_at="2099-01-01T00:00:00+00:00"), "occurred_in_future"),
        (event("captured:R1"), "reserved_event_id"),
        (event("delayed:42"), "reserved_event_id"),
        (event("staff:0c1d"), "reserved_event_id"),
        (event("rescheduled:7"), "reserved_event_id"),
        ({"reference": "R1", "type": "cleared", "occurred_at": "2026-11-20T10:00:00+08:00"}, "missing_field"),
        (event("x6", reason="card 6222 0212 3456 7890 was used"), None),
        (event("x7", reason="card 4111111111111111"), "full_pan_forbidden"),
        (event("", kind="cleared"), "missing_field"),
        (event("x8", payout_reference=["a"]), "invalid_type"),
        ([1, 2], "invalid_item"),
    ],
)
def test_bad_events_get_their_code_and_do_not_block_the_others(acquirer, txn, item, code):
    from settlement.pan import contains_full_pan

    bad, good = results(acquirer.post("events", {"events": [item, event("ok", kind="cleared")]}))
    if code is None:  # a 16-digit run that fails Luhn is not a card number
        assert not contains_full_pan("6222021234567890") and bad["result"] == "applied"
        return
    assert (bad["result"], bad["error"]["code"]) == ("rejected", code)
    assert good["result"] == "applied"
    assert SettlementEvent.objects.filter(transaction=txn).count() == 2  # captured + ok


def test_a_settled_event_with_a_payout_reference_links_the_payout(acquirer, txn):
    acquirer.post("payouts", {"payout_reference": "PO1", "merchant_no": "M900001", "amount": "1272.32",
                              "status": "sent", "sent_at": timezone.now().isoformat()})
    results(acquirer.post("events", {"events": [event("e1", kind="settled", payout_reference="PO1")]}))
    txn.refresh_from_db()
    assert txn.payout.reference == "PO1"


def test_a_card_number_outside_the_items_refuses_the_whole_request(acquirer, txn):
    response = acquirer.post("events", {"events": [event("e1")], "note": "4111-1111-1111-1111"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "full_pan_forbidden"
    assert not SettlementEvent.objects.filter(event_id="e1").exists()


def _statements(acquirer, payload) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = acquirer.post("events", payload)
    assert response.status_code == 200
    assert {r["result"] for r in response.json()["results"]} == {"applied"}, response.json()["results"][:3]
    return len(ctx.captured_queries)


def test_an_event_batch_costs_the_same_number_of_statements_whatever_its_size(acquirer, terminal):
    at = (timezone.now() - timedelta(days=1)).isoformat()
    refs = [f"Q{i}" for i in range(1101)]
    for start in (0, 1000):
        acquirer.post("transactions", {"transactions": [swipe(r, captured_at=at) for r in refs[start:start + 1000]]})
    batches = {1: refs[:1], 100: refs[1:101], 1000: refs[101:]}
    counts = {
        n: _statements(acquirer, {"events": [event(f"clr-{r}", r, "cleared") for r in batch]})
        for n, batch in batches.items()
    }
    assert len(set(counts.values())) == 1, counts
    assert Transaction.objects.filter(status="cleared").count() == 1101


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_out_of_order_pushes_end_in_the_in_order_state(client, channel, data):
    from tests.channels.conftest import Acquirer
    from tests.factories import MerchantFactory

    events = data.draw(lifecycles())
    delivered = arrivals(events, data.draw)
    merchant = MerchantFactory(channel=channel)
    acquirer = Acquirer(client, channel)
    reference = f"H{merchant.pk}"
    acquirer.post("transactions", {"transactions": [swipe(reference, merchant_no=merchant.merchant_no,
                                                          terminal_sn=None,
                                                          captured_at="2026-11-02T08:00:00+00:00")]})
    for chunk in (delivered[i:i + 3] for i in range(0, len(delivered), 3)):
        payload = {"events": [event(f"{reference}-{eid}", reference, kind, at) for kind, at, eid in chunk]}
        for result in results(acquirer.post("events", payload)):
            assert result["result"] in ("applied", "stale", "duplicate"), result
    txn = Transaction.objects.get(channel=channel, reference=reference)
    assert txn.status == in_order_status(events)
    assert txn.events.exclude(type="rescheduled").count() == 1 + len(events)  # + captured; a re-payment adds its system event


def test_an_event_contradicting_a_final_status_is_stored_and_answered_with_its_code(acquirer, txn):
    now = timezone.now()
    results(acquirer.post("events", {"events": [event("c1", kind="credited", occurred_at=now - timedelta(minutes=5))]}))
    [answer] = results(acquirer.post("events", {"events": [event("r1", kind="reversed", occurred_at=now)]}))
    assert (answer["result"], answer["status"], answer["error"]["code"]) == ("contradicts_final", "credited",
                                                                             "transaction_final")
    assert SettlementEvent.objects.get(event_id="r1").outcome == "contradicts_final"


def test_a_pushed_delayed_id_is_refused_so_the_late_scan_still_writes_its_audit_row(acquirer, txn):
    from settlement.services.delays import delays_flag

    [answer] = results(acquirer.post("events", {"events": [event(f"delayed:{txn.pk}", kind="cleared")]}))
    assert (answer["result"], answer["error"]["code"]) == ("rejected", "reserved_event_id")
    delays_flag(now=txn.overdue_at + timedelta(minutes=1))
    row = SettlementEvent.objects.get(event_id=f"delayed:{txn.pk}")
    assert (row.type, row.source, row.transaction_id) == ("delayed", "system", txn.pk)

@pytest.mark.parametrize("reason", ["卡号６２２５８８０１２３４５６７８３", "6225 8801 2345 6783 123", "6225.8801.2345.6783"])
def test_a_card_number_in_any_spelling_is_refused_even_json_escaped(acquirer, txn, reason):
    # ensure_ascii: the raw body holds "\\uff16...", a card number only once decoded
    raw = json.dumps({"events": [event("e1", kind="cleared", reason=reason)]}, ensure_ascii=True).encode()
    [result] = results(acquirer.post("events", raw=raw))
    assert (result["result"], result["error"]["code"]) == ("rejected", "full_pan_forbidden")
    assert not SettlementEvent.objects.filter(event_id="e1").exists()


def test_the_one_door_refuses_a_card_number_from_a_poll_answer(channel, txn):
    from settlement.services.events import EventInput, events_apply

    item = EventInput(event_id="p1", reference="R1", type="cleared", occurred_at=timezone.now(),
                      reason="持卡人 ６２２５８８０１２３４５６７８３")
    [result] = events_apply(channel=channel, events=[item], source=SettlementEvent.Source.POLL)
    assert (result.result, result.code) == ("rejected", "full_pan_forbidden")
    txn.refresh_from_db()
    assert txn.status == "captured" and not SettlementEvent.objects.filter(event_id="p1").exists()


def test_a_one_event_push_costs_seven_statements(acquirer, txn):
    """Signature read, receipt claim (one INSERT ... ON CONFLICT), lock, read, event
    INSERT, row UPDATE, stored answer: no get_or_create SELECT, no savepoint of the door
    (the two left are the test's own transaction around the view's)."""
    with CaptureQueriesContext(connection) as ctx:
        [result] = results(acquirer.post("events", {"events": [event("e1", kind="cleared")]}))
    assert result["result"] == "applied"
    statements = [q["sql"] for q in ctx.captured_queries]
    assert [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE"))] and len(statements) == 9, statements


def test_an_event_id_race_runs_the_whole_request_again(acquirer, txn, monkeypatch):
    """A concurrent batch took one of the event ids (IntegrityError) inside the view's one
    transaction: it is rolled back whole (receipt included) and the request runs again."""
    from django.db import IntegrityError

    from channels.models import WebhookReceipt
    from settlement.services import events as door

    real, calls = door._judge_and_write, []

    def racing(**kwargs):
        calls.append(1)
        out = real(**kwargs)  # every write of the first attempt happened...
        if len(calls) == 1:
            raise IntegrityError("duplicate key value violates unique constraint event_unique_per_channel")
        return out

    monkeypatch.setattr(door, "_judge_and_write", racing)
    [result] = results(acquirer.post("events", {"events": [event("e1", kind="cleared")]}, msg_id="race-1"))
    assert (result["result"], len(calls)) == ("applied", 2)  # ...and were undone before the second
    assert SettlementEvent.objects.filter(event_id="e1").count() == 1
    assert WebhookReceipt.objects.filter(webhook_id="race-1", status_code=200).count() == 1
    txn.refresh_from_db()
    assert txn.status == "cleared"
