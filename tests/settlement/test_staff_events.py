"""Staff record what they learned, through the one door (issue 9, item 4)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from merchants.selectors import late_swipes_of
from settlement.lifecycle import Status
from settlement.models import FollowUpCase, SettlementEvent
from settlement.services.cases import CaseError, case_resolve
from settlement.services.delays import delays_flag
from settlement.services.staff_events import staff_event_record
from tests.factories import make_transaction, push

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    from settlement.tasks import send_notification_emails

    monkeypatch.setattr(send_notification_emails, "delay", lambda ids: None)


def late_case(merchant, status="settled"):
    txn = make_transaction(merchant=merchant, captured_at=timezone.now() - timedelta(days=6))
    if status != "captured":
        push(txn, status, txn.captured_at + timedelta(hours=20))
    delays_flag(now=timezone.now())
    return txn, FollowUpCase.objects.get(transaction=txn)


def status_line(response) -> str:
    page = response.content.decode()
    start = page.index('class="status-line"')
    return page[start:page.index("</p>", start)]


def test_a_recorded_credit_is_a_staff_event_through_the_door(merchant, staff_user):
    txn, case = late_case(merchant)
    bank_time = timezone.now() - timedelta(hours=1)
    done = staff_event_record(case=case, by=staff_user, status="credited", bank_reference="ICBC-20261202-77",
                              occurred_at=bank_time, evidence="Phoned ICBC branch, Ms Li")
    assert (done.outcome, done.status) == ("applied", Status.CREDITED)
    row = SettlementEvent.objects.get(event_id=done.event_id)
    assert row.event_id.startswith("staff:") and (row.source, row.recorded_by) == ("staff", staff_user)
    assert (row.from_status, row.to_status, row.occurred_at) == ("settled", "credited", bank_time)
    assert row.payload["bank_reference"] == "ICBC-20261202-77" and row.payload["recorded_by"] == "support"
    txn.refresh_from_db()
    assert (txn.status, txn.credited_at, txn.next_poll_at) == (Status.CREDITED, bank_time, None)
    assert case.entries.filter(kind="status_recorded").exists()


def test_final_is_final_for_staff_too_and_nothing_is_stored(merchant, staff_user):
    txn, case = late_case(merchant, status="cleared")
    FollowUpCase.objects.filter(pk=case.pk).update(status="claimed")
    staff_event_record(case=case, by=staff_user, status="reversed", evidence="acquirer confirmed")
    # The door closed the delay case (the swipe is final); open another to try again.
    case2 = FollowUpCase.objects.create(reference="S-1", transaction=txn, merchant=merchant, channel=txn.channel,
                                        origin="staff", opened_at=timezone.now(), sla_due_at=timezone.now(),
                                        last_action_at=timezone.now())
    with pytest.raises(CaseError) as refused:
        staff_event_record(case=case2, by=staff_user, status="credited", bank_reference="B1",
                           occurred_at=timezone.now() - timedelta(minutes=1))
    assert refused.value.code == "transaction_final"
    assert not SettlementEvent.objects.filter(transaction=txn, type="credited").exists()
    txn.refresh_from_db()
    assert txn.status == Status.REVERSED


@pytest.mark.parametrize("kwargs, code", [
    ({"status": "credited", "occurred_at": "now"}, "bank_reference_required"),
    ({"status": "credited", "bank_reference": "B1"}, "bank_time_required"),
    ({"status": "returned"}, "reason_required"),
    ({"status": "held"}, "invalid_event_type"),
    ({"status": "credited", "bank_reference": "B1", "occurred_at": "future"}, "occurred_in_future"),
    ({"status": "released", "evidence": "card 4111 1111 1111 1111"}, "full_pan_forbidden"),
    ({"status": "credited", "bank_reference": "B" * 65, "occurred_at": "now"}, "too_long"),
])
def test_bad_staff_entries_get_a_stable_code_and_store_nothing(merchant, staff_user, kwargs, code):
    txn, case = late_case(merchant)
    at = {"now": timezone.now() - timedelta(minutes=1), "future": timezone.now() + timedelta(hours=1)}
    if "occurred_at" in kwargs:
        kwargs = {**kwargs, "occurred_at": at[kwargs["occurred_at"]]}
    with pytest.raises(CaseError) as refused:
        staff_event_record(case=case, by=staff_user, **kwargs)
    assert refused.value.code == code
    assert not SettlementEvent.objects.filter(transaction=txn, source="staff").exists()


def test_credited_late_needs_a_credited_swipe(merchant, staff_user):
    txn, case = late_case(merchant)
    with pytest.raises(CaseError) as refused:
        case_resolve(case=case, by=staff_user, outcome="credited_late")
    assert refused.value.code == "swipe_not_credited"
    case.refresh_from_db()
    assert case.status == "open"


def test_refunded_needs_a_refunded_swipe(merchant, staff_user):
    txn, case = late_case(merchant, status="cleared")
    with pytest.raises(CaseError) as refused:
        case_resolve(case=case, by=staff_user, outcome="refunded")
    assert refused.value.code == "swipe_not_refunded"
    resolved = case_resolve(case=case, by=staff_user, outcome="refunded", bank_time=timezone.now())
    txn.refresh_from_db()
    assert (resolved.status, resolved.outcome, txn.status) == ("resolved", "refunded", Status.REFUNDED)


def test_resolving_credited_late_from_the_form_records_the_credit_and_the_merchant_agrees(
        client, merchant, merchant_user, staff_user):
    # given: a late, settled swipe the merchant sees as late
    txn, case = late_case(merchant)
    assert list(late_swipes_of(merchant)) == [txn]
    client.force_login(merchant_user)
    assert " · " in status_line(client.get(reverse("merchants:swipe", args=[txn.pk])))  # "Late · Settled"
    # when: staff resolve it as credited late with what the bank told them
    client.force_login(staff_user)
    response = client.post(reverse("staff:case-action", args=[case.pk, "resolve"]), {
        "outcome": "credited_late", "note": "ICBC confirmed by phone", "bank_reference": "ICBC-99",
        "bank_time": (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
    }, follow=True)
    assert '<li class="success">' in response.content.decode()
    # then: the swipe is credited by a staff event, and case and merchant pages agree
    case.refresh_from_db()
    txn.refresh_from_db()
    assert (case.status, case.outcome, case.resolved_by) == ("resolved", "credited_late", staff_user)
    assert txn.status == Status.CREDITED and case.delay_seconds is not None
    assert SettlementEvent.objects.get(transaction=txn, type="credited").source == "staff"
    assert list(late_swipes_of(merchant)) == []
    client.force_login(merchant_user)
    line = status_line(client.get(reverse("merchants:swipe", args=[txn.pk])))
    assert " · " not in line  # no "Late ·" any more


def test_the_case_page_form_shows_errors_with_their_code(client, merchant, staff_user):
    txn, case = late_case(merchant)
    client.force_login(staff_user)
    response = client.post(reverse("staff:case-action", args=[case.pk, "record"]), {"status": "credited"},
                           follow=True)
    page = response.content.decode()
    assert "code-bank_reference_required" in page
    assert 'id="record-form"' in page
    response = client.post(reverse("staff:case-action", args=[case.pk, "resolve"]), {"outcome": "credited_late"},
                           follow=True)
    assert "code-swipe_not_credited" in response.content.decode()
    txn.refresh_from_db()
    assert txn.status == Status.SETTLED


def test_a_staff_event_id_never_reads_as_a_card_number(monkeypatch):
    import uuid

    from settlement.pan import contains_full_pan
    from settlement.services.staff_events import staff_event_id

    # found by the ledger machine: a uuid hex can hold a Luhn-valid run of 13+ digits
    pan_like = uuid.UUID("4111111111111111abcdefabcdefabcd")
    assert contains_full_pan(pan_like.hex)
    drawn = iter([pan_like, uuid.UUID(int=0xABCDEF)])
    monkeypatch.setattr("settlement.services.staff_events.uuid.uuid4", lambda: next(drawn))
    assert staff_event_id() == f"staff:{uuid.UUID(int=0xABCDEF).hex}"
