"""Case services: races are decided by the database, every action is on the history."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from settlement.models import FollowUpCase
from settlement.services.cases import (
    CaseError,
    case_add_note,
    case_claim,
    case_escalate,
    case_record_contact,
    case_resolve,
    case_set_follow_up,
    cases_escalate_untouched,
)
from settlement.services.delays import delays_flag
from settlement.services.events import EventInput, events_apply
from tests.factories import MerchantFactory, UserFactory, make_transaction

SH = ZoneInfo("Asia/Shanghai")
CAPTURED = datetime(2026, 11, 16, 10, 0, tzinfo=SH)


def late_case(merchant=None) -> FollowUpCase:
    txn = make_transaction(merchant=merchant or MerchantFactory(), captured_at=CAPTURED)
    delays_flag(now=txn.overdue_at + timedelta(minutes=1))
    return FollowUpCase.objects.get(transaction=txn)


@pytest.mark.django_db
def test_claim_then_someone_else_is_told(staff_user):
    case = late_case()
    other = UserFactory(username="other", is_staff=True)
    case_claim(case=case, by=staff_user)
    with pytest.raises(CaseError) as told:
        case_claim(case=case, by=other)
    assert told.value.code == "already_claimed" and "support" in told.value.message
    with pytest.raises(CaseError) as again:
        case_claim(case=case, by=staff_user)
    assert again.value.code == "already_yours"
    case.refresh_from_db()
    assert (case.status, case.assignee) == ("claimed", staff_user)
    assert case.entries.filter(kind="claimed").count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_staff_clicking_claim_at_once_one_wins(monkeypatch):
    from settlement.tasks import send_notification_emails

    monkeypatch.setattr(send_notification_emails, "delay", lambda ids: None)  # no broker needed
    case = late_case()
    users = [UserFactory(username=f"clicker{i}", is_staff=True) for i in range(2)]
    barrier = threading.Barrier(2)
    outcomes = []

    def click(user):
        try:
            barrier.wait()
            case_claim(case=FollowUpCase.objects.get(pk=case.pk), by=user)
            outcomes.append("won")
        except CaseError as exc:
            outcomes.append(exc.code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_claimed", "won"]
    assert FollowUpCase.objects.get(pk=case.pk).entries.filter(kind="claimed").count() == 1


@pytest.mark.django_db
def test_actions_on_a_resolved_case_are_refused(staff_user):
    case = late_case()
    case_resolve(case=case, by=staff_user, outcome="no_fault")
    for action in (
        lambda: case_add_note(case=case, by=staff_user, body="x"),
        lambda: case_resolve(case=case, by=staff_user, outcome="compensated"),
        lambda: case_escalate(case=case, by=staff_user),
        lambda: case_record_contact(case=case, by=staff_user, party="bank", said="hi"),
    ):
        with pytest.raises(CaseError):
            action()
    assert FollowUpCase.objects.get(pk=case.pk).outcome == "no_fault"


@pytest.mark.django_db
def test_bad_input_has_stable_codes(staff_user):
    case = late_case()
    cases = [
        (lambda: case_add_note(case=case, by=staff_user, body="  "), "empty_note"),
        (lambda: case_resolve(case=case, by=staff_user, outcome="maybe"), "invalid_outcome"),
        (lambda: case_record_contact(case=case, by=staff_user, party="", said="x"), "contact_party_required"),
        (lambda: case_set_follow_up(case=case, by=staff_user, at=datetime(2026, 12, 1)), "naive_datetime"),
    ]
    for call, code in cases:
        with pytest.raises(CaseError) as err:
            call()
        assert err.value.code == code
    assert list(case.entries.values_list("kind", flat=True)) == ["opened"]


@pytest.mark.django_db
def test_untouched_cases_escalate_once(staff_user, settings):
    settings.DELAYS_CASE_ESCALATE_AFTER_HOURS = 8
    stale, fresh = late_case(), late_case()
    now = stale.last_action_at + timedelta(hours=9)
    FollowUpCase.objects.filter(pk=fresh.pk).update(last_action_at=now - timedelta(hours=1))
    assert cases_escalate_untouched(now=now) == 1
    assert cases_escalate_untouched(now=now) == 0
    stale.refresh_from_db()
    assert stale.status == "escalated" and stale.entries.filter(kind="escalated").count() == 1
    assert FollowUpCase.objects.get(pk=fresh.pk).status == "open"


@pytest.mark.django_db
@pytest.mark.parametrize("size", [1, 40])
def test_closing_cases_on_arrival_costs_constant_statements(size):
    merchant = MerchantFactory()
    txns = [make_transaction(merchant=merchant, captured_at=CAPTURED) for _ in range(size)]
    delays_flag(now=txns[0].overdue_at + timedelta(minutes=1))
    at = txns[0].overdue_at + timedelta(hours=1)
    events = [EventInput(f"cr{size}-{i}", t.reference, "credited", at) for i, t in enumerate(txns)]
    with CaptureQueriesContext(connection) as queries:
        results = events_apply(channel=merchant.channel, events=events, source="push", now=at)
    assert {r.result for r in results} == {"applied"}
    statements = [q for q in queries.captured_queries if "SAVEPOINT" not in q["sql"]]
    # the 4 of events_apply + select cases, close them, their entries, notifications
    assert len(statements) == 8
    assert FollowUpCase.objects.filter(status="resolved", outcome="credited_late").count() == size


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["客户卡号 ６２２５８８０１２３４５６７８３", "4111-1111-1111-1111 cvv 123"])
def test_staff_texts_with_a_card_number_are_refused_and_nothing_is_written(staff_user, text):
    case = late_case()
    entries = case.entries.count()
    for action in (
        lambda: case_add_note(case=case, by=staff_user, body=text),
        lambda: case_record_contact(case=case, by=staff_user, party="ICBC", said=text),
        lambda: case_record_contact(case=case, by=staff_user, party="ICBC", said="called", reference=text),
        lambda: case_escalate(case=case, by=staff_user, reason=text),
    ):
        with pytest.raises(CaseError) as err:
            action()
        assert err.value.code == "full_pan_forbidden"
    case.refresh_from_db()
    assert case.entries.count() == entries and case.status == "open"
    assert case_add_note(case=case, by=staff_user, body="客户尾号 6783，电话 138 0013 8000").body
