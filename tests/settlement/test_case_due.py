"""The case's copy of its swipe's due time (queue sorts and age buckets read it)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from settlement.models import DeadlineRecompute, FollowUpCase
from settlement.services.delays import delays_flag
from settlement.services.reschedule import deadlines_recompute_request, recompute_pending
from tests.factories import make_transaction

SH = ZoneInfo("Asia/Shanghai")
CAPTURED = datetime(2026, 11, 16, 10, 0, tzinfo=SH)  # Monday, T1: due Tuesday 18:00
TUESDAY_18 = datetime(2026, 11, 17, 18, 0, tzinfo=SH)


@pytest.mark.django_db
def test_the_late_scan_copies_the_due_time_and_a_reschedule_moves_it(merchant):
    txn = make_transaction(merchant=merchant, captured_at=CAPTURED)
    other = make_transaction(merchant=merchant, captured_at=CAPTURED + timedelta(minutes=5))
    with time_machine.travel(TUESDAY_18 + timedelta(hours=3), tick=False):
        assert delays_flag().cases_opened == 2
        case = FollowUpCase.objects.get(transaction=txn)
        assert case.due_at == TUESDAY_18
        resolved = FollowUpCase.objects.get(transaction=other)
        FollowUpCase.objects.filter(pk=resolved.pk).update(status="resolved", resolved_at=TUESDAY_18, outcome="credited")
        # The channel now promises 16:00: still late, the case stays open and follows.
        channel = merchant.channel
        channel.arrival_by_time = datetime(2000, 1, 1, 16, 0).time()
        channel.save()
        deadlines_recompute_request(reason=DeadlineRecompute.Reason.CHANNEL_RULES, channel_id=channel.id,
                                    detail={"fields": ["arrival_by_time"]})
        assert recompute_pending().changed == 2
    txn.refresh_from_db()
    case.refresh_from_db()
    resolved.refresh_from_db()
    assert txn.expected_by == TUESDAY_18 - timedelta(hours=2)
    assert case.status == "open" and case.due_at == txn.expected_by
    assert resolved.due_at == TUESDAY_18  # a closed case keeps the time it was judged by


@pytest.mark.django_db
def test_a_case_created_with_its_swipe_copies_the_due_time(merchant):
    txn = make_transaction(merchant=merchant, captured_at=CAPTURED)
    case = FollowUpCase.objects.create(
        reference="C-due-1", transaction=txn, merchant=merchant, channel=merchant.channel,
        opened_at=TUESDAY_18, sla_due_at=TUESDAY_18, last_action_at=TUESDAY_18)
    assert case.due_at == txn.expected_by == TUESDAY_18
    no_swipe = FollowUpCase.objects.create(
        reference="C-due-2", merchant=merchant, channel=merchant.channel,
        opened_at=TUESDAY_18, sla_due_at=TUESDAY_18, last_action_at=TUESDAY_18)
    assert no_swipe.due_at is None
