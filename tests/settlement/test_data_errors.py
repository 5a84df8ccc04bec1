"""Final is final (issue 9, item 1): a contradicting event is stored, never applied, and
opens or joins one data-error case per swipe."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from settlement.lifecycle import Status
from settlement.models import CaseEntry, FollowUpCase, SettlementEvent
from settlement.models.cases import Cause
from settlement.services.events import EventInput, events_apply
from tests.factories import make_transaction, push

pytestmark = pytest.mark.django_db


def test_an_earlier_settled_after_a_reversal_is_not_applied_and_opens_a_data_error_case(merchant):
    # given: cleared, then reversed (final); polling stopped
    txn = make_transaction(merchant=merchant)
    now = timezone.now()
    push(txn, "cleared", now - timedelta(minutes=30), event_id="clr")
    push(txn, "reversed", now - timedelta(minutes=10), event_id="rev")
    assert (txn.status, txn.next_poll_at) == (Status.REVERSED, None)
    updated_at = txn.updated_at
    # when: the acquirer pushes a settlement dated between the two
    result = push(txn, "settled", now - timedelta(minutes=20), event_id="late-settle")
    # then: stored for the record, not applied; the swipe stays reversed and unpolled
    assert (result.result, result.code) == ("contradicts_final", "transaction_final")
    assert (txn.status, txn.next_poll_at, txn.settled_at) == (Status.REVERSED, None, None)
    assert txn.updated_at == updated_at
    row = SettlementEvent.objects.get(event_id="late-settle")
    assert (row.outcome, row.from_status, row.to_status) == ("contradicts_final", "reversed", "reversed")
    case = FollowUpCase.objects.get(transaction=txn)
    assert (case.cause, case.origin, case.status) == (Cause.DATA_ERROR, FollowUpCase.Origin.SYSTEM, "open")
    assert case.cause_evidence["final"]["event_id"] == "rev"
    assert [c["event_id"] for c in case.cause_evidence["contradicting"]] == ["late-settle"]
    assert case.reference.startswith("C")


def test_a_second_contradiction_joins_the_open_case_and_a_retry_is_a_duplicate(merchant):
    txn = make_transaction(merchant=merchant)
    now = timezone.now()
    push(txn, "credited", now - timedelta(minutes=10), event_id="cr")
    push(txn, "returned", now - timedelta(minutes=5), event_id="ret")
    assert push(txn, "returned", now - timedelta(minutes=5), event_id="ret").result == "duplicate"
    push(txn, "reversed", now - timedelta(minutes=4), event_id="rev")
    case = FollowUpCase.objects.get(transaction=txn)
    assert [c["event_id"] for c in case.cause_evidence["contradicting"]] == ["ret", "rev"]
    assert case.entries.filter(kind=CaseEntry.Kind.DATA_ERROR).count() == 2
    assert txn.status == Status.CREDITED


def test_a_contradicting_event_is_no_input_of_later_folds(merchant):
    # The stored contradiction must not bring the swipe back to life when more news comes.
    txn = make_transaction(merchant=merchant)
    now = timezone.now()
    push(txn, "cleared", now - timedelta(minutes=30))
    push(txn, "reversed", now - timedelta(minutes=10))
    push(txn, "settled", now - timedelta(minutes=20))
    assert push(txn, "cleared", now - timedelta(minutes=25)).result == "stale"
    assert txn.status == Status.REVERSED


def test_a_batch_with_contradictions_for_two_swipes_opens_two_cases(merchant):
    a, b = make_transaction(merchant=merchant), make_transaction(merchant=merchant)
    now = timezone.now()
    for t in (a, b):
        push(t, "credited", now - timedelta(minutes=10))
    results = events_apply(channel=merchant.channel, source="push", events=[
        EventInput("x1", a.reference, "held", now), EventInput("x2", b.reference, "refunded", now),
        EventInput("x3", a.reference, "returned", now),
    ])
    assert [r.result for r in results] == ["contradicts_final"] * 3
    assert FollowUpCase.objects.filter(cause=Cause.DATA_ERROR).count() == 2
    assert FollowUpCase.objects.get(transaction=a).cause_evidence["count"] == 2


def test_an_open_inquiry_becomes_the_data_error_case(merchant, merchant_user):
    from settlement.services.inquiries import inquiry_open

    txn = make_transaction(merchant=merchant)
    push(txn, "credited", timezone.now() - timedelta(minutes=10))
    inquiry = inquiry_open(user=merchant_user, merchant=merchant, transaction=txn, message="Is it there?").case
    push(txn, "reversed", timezone.now())
    case = FollowUpCase.objects.get(transaction=txn)
    assert case.pk == inquiry.pk and case.cause == Cause.DATA_ERROR
    assert case.entries.filter(kind=CaseEntry.Kind.CAUSE).exists()


def test_the_staff_case_page_shows_both_facts_side_by_side(client, staff_user, merchant):
    txn = make_transaction(merchant=merchant)
    now = timezone.now()
    push(txn, "cleared", now - timedelta(minutes=30), event_id="clr")
    push(txn, "reversed", now - timedelta(minutes=10), event_id="rev-77")
    push(txn, "settled", now - timedelta(minutes=20), event_id="settle-88")
    case = FollowUpCase.objects.get(transaction=txn)
    client.force_login(staff_user)
    page = client.get(reverse("staff:case", args=[case.pk])).content.decode()
    assert 'id="data-error"' in page
    section = page[page.index('id="data-error"'):]
    section = section[:section.index("</section>")]
    assert "rev-77" in section and "settle-88" in section
