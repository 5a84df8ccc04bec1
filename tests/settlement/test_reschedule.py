"""Stored deadlines follow their inputs: calendar edits, channel rules, re-payment."""

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels.calendar_edit import calendar_day_set, calendar_year_replace
from channels.models import CalendarYear
from channels.notice import notice_parse
from settlement.models import DeadlineRecompute, FollowUpCase, Notification, SettlementEvent
from settlement.services.delays import delays_flag
from settlement.services.reschedule import deadlines_recompute_request, recompute_batch, recompute_pending
from tests.factories import MerchantFactory, make_transaction, push

SH = ZoneInfo("Asia/Shanghai")
# Monday 2026-11-16 10:00, T1: due Tuesday 18:00, late after 20:00.
CAPTURED = datetime(2026, 11, 16, 10, 0, tzinfo=SH)
TUESDAY_18 = datetime(2026, 11, 17, 18, 0, tzinfo=SH)
DEMO_2027 = Path(__file__).resolve().parents[2] / "channels" / "data" / "notice_2027_MADE_UP.txt"


def rules_changed(channel, **fields):
    for name, value in fields.items():
        setattr(channel, name, value)
    channel.save()
    deadlines_recompute_request(reason=DeadlineRecompute.Reason.CHANNEL_RULES, channel_id=channel.id,
                                detail={"fields": sorted(fields)})


def rescheduled(txn):
    return list(SettlementEvent.objects.filter(transaction=txn, type="rescheduled"))


@pytest.mark.django_db
def test_a_channel_rule_change_moves_in_flight_deadlines_only(merchant):
    inflight = make_transaction(merchant=merchant, captured_at=CAPTURED)
    done = make_transaction(merchant=merchant, captured_at=CAPTURED)
    push(done, "credited", CAPTURED + timedelta(hours=5))
    other = make_transaction(captured_at=CAPTURED)  # another channel
    with time_machine.travel(CAPTURED + timedelta(hours=1), tick=False):
        rules_changed(merchant.channel, arrival_by_time=datetime(2000, 1, 1, 16, 0).time())
        report = recompute_pending()
    assert report.changed == 1
    for txn in (inflight, done, other):
        txn.refresh_from_db()
    assert inflight.expected_by == TUESDAY_18 - timedelta(hours=2)
    assert inflight.overdue_at == inflight.expected_by + timedelta(minutes=merchant.channel.grace_minutes)
    assert done.expected_by == TUESDAY_18 and rescheduled(done) == []
    assert other.expected_by == TUESDAY_18 and rescheduled(other) == []
    [event] = rescheduled(inflight)
    assert event.event_id.startswith(f"rescheduled:{inflight.id}:")
    assert (event.source, event.from_status, event.to_status) == ("system", "captured", "captured")
    assert datetime.fromisoformat(event.payload["old_expected_by"]) == TUESDAY_18
    assert datetime.fromisoformat(event.payload["new_expected_by"]) == inflight.expected_by
    assert event.payload["reason"] == "channel_rules" and "arrival_by_time" in event.reason
    # one merchant message for the batch; a second run changes nothing
    assert Notification.objects.filter(kind="rescheduled", merchant=merchant).count() == 1
    assert recompute_pending().changed == 0
    assert DeadlineRecompute.objects.filter(done_at__isnull=True).count() == 0


@pytest.mark.django_db
def test_the_recompute_is_set_based(merchant, settings):
    """The same number of statements for a batch of 3 as for a batch of 60."""
    settings.DEADLINES_RECOMPUTE_BATCH_SIZE = 1000
    counts = []
    for n in (3, 60):
        m = MerchantFactory(channel=merchant.channel)
        for _ in range(n):
            make_transaction(merchant=m, captured_at=CAPTURED)
        # the channel's earlier swipes are already moved, so only the new ones change
        request = deadlines_recompute_request(reason="channel_rules", channel_id=merchant.channel_id)
        merchant.channel.grace_minutes += 10
        merchant.channel.save()
        with CaptureQueriesContext(connection) as ctx:
            batch = recompute_batch(request_id=request.id, limit=1000)
        assert batch.changed >= n
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1], counts


@pytest.mark.django_db
@pytest.mark.parametrize("grace", [30, 600])  # deadlines move earlier / later than the keyset cursor
def test_batches_are_bounded_and_cover_every_row_once(merchant, grace):
    swipes = [make_transaction(merchant=merchant, captured_at=CAPTURED + timedelta(minutes=i)) for i in range(7)]
    merchant.channel.grace_minutes = grace
    merchant.channel.save()
    request = deadlines_recompute_request(reason="channel_rules", channel_id=merchant.channel_id)
    sizes = []
    while True:
        batch = recompute_batch(request_id=request.id, limit=3)
        sizes.append(batch.looked_at)
        if not batch.more:
            break
    assert max(sizes) <= 3 and sum(sizes) == 7
    for txn in swipes:
        txn.refresh_from_db()
        assert txn.overdue_at - txn.expected_by == timedelta(minutes=grace)
        assert len(rescheduled(txn)) == 1


@pytest.mark.django_db
def test_a_holiday_added_by_the_operator_command_moves_the_deadline(merchant, capsys):
    txn = make_transaction(merchant=merchant, captured_at=CAPTURED)
    with time_machine.travel(CAPTURED + timedelta(hours=1), tick=False):
        call_command("calendar_day", merchant.channel.code, "2026-11-17", "holiday", "--name", "测试假日")
    out = capsys.readouterr().out
    assert "2026-11-17 set to holiday" in out and "1 deadlines moved" in out
    txn.refresh_from_db()
    assert txn.expected_by == TUESDAY_18 + timedelta(days=1)
    [event] = rescheduled(txn)
    assert event.payload["reason"] == "calendar_day" and event.payload["days"] == [["2026-11-17", "holiday"]]
    # and back to ordinary: back to Tuesday
    with time_machine.travel(CAPTURED + timedelta(hours=2), tick=False):
        call_command("calendar_day", merchant.channel.code, "2026-11-17", "ordinary")
    txn.refresh_from_db()
    assert txn.expected_by == TUESDAY_18 and len(rescheduled(txn)) == 2


@pytest.mark.django_db
def test_an_edit_in_an_incomplete_year_records_no_recompute(merchant):
    CalendarYear.objects.filter(calendar=merchant.channel.calendar, year=2027).delete()
    change = calendar_day_set(calendar=merchant.channel.calendar, day=date(2027, 1, 1), kind="holiday")
    assert change.changed and change.recompute_id is None


@pytest.mark.django_db
def test_a_late_swipe_whose_deadline_moves_to_the_future_stops_being_late(merchant):
    txn = make_transaction(merchant=merchant, captured_at=CAPTURED)
    with time_machine.travel(TUESDAY_18 + timedelta(hours=2, minutes=1), tick=False):
        assert delays_flag().cases_opened == 1
        # staff learn Tuesday was a bank holiday after all
        calendar_day_set(calendar=merchant.channel.calendar, day=date(2026, 11, 17), kind="holiday")
        report = recompute_pending()
    assert report.unlated == 1
    txn.refresh_from_db()
    assert txn.delayed_since is None and txn.late_round == 1
    assert txn.expected_by == TUESDAY_18 + timedelta(days=1)
    case = FollowUpCase.objects.get(transaction=txn)
    assert (case.status, case.outcome) == ("resolved", "rescheduled")
    assert case.entries.filter(kind="resolved", visible_to_merchant=True).count() == 1
    assert Notification.objects.filter(kind="rescheduled", merchant=merchant).count() == 1
    [event] = rescheduled(txn)
    assert event.payload["late_ended"] is True


@pytest.mark.django_db
def test_returned_resettled_late_again_two_cases_two_causes(merchant):
    txn = make_transaction(merchant=merchant, captured_at=CAPTURED)
    push(txn, "cleared", CAPTURED + timedelta(hours=2))
    push(txn, "settled", CAPTURED + timedelta(hours=20))
    push(txn, "returned", CAPTURED + timedelta(hours=27))  # Tuesday 13:00: wrong account
    with time_machine.travel(TUESDAY_18 + timedelta(hours=2, minutes=1), tick=False):
        assert delays_flag().cases_opened == 1
    first = FollowUpCase.objects.get(transaction=txn)
    assert first.cause == "wrong_account"
    # Wednesday 10:00 the account is fixed and the money re-settled: next T+1 cycle
    resettled_at = datetime(2026, 11, 18, 10, 0, tzinfo=SH)
    with time_machine.travel(resettled_at + timedelta(minutes=1), tick=False):
        push(txn, "settled", resettled_at)
    txn.refresh_from_db()
    assert txn.status == "settled" and txn.delayed_since is None and txn.late_round == 1
    assert txn.scheduled_from == resettled_at
    assert txn.expected_by == datetime(2026, 11, 19, 18, 0, tzinfo=SH)
    assert txn.business_date == date(2026, 11, 16)  # still the capture's
    first.refresh_from_db()
    assert (first.status, first.outcome) == ("resolved", "account_corrected")
    assert [e.payload["reason"] for e in rescheduled(txn)] == ["repaid"]
    # the bank is slow again: late a second time, a second case with the new cause
    with time_machine.travel(datetime(2026, 11, 19, 20, 1, tzinfo=SH), tick=False):
        report = delays_flag()
    assert (report.flagged, report.cases_opened, report.notifications) == (1, 1, 1)
    second = FollowUpCase.objects.exclude(pk=first.pk).get(transaction=txn)
    assert second.cause == "bank_processing" and second.reference.endswith("-1")
    assert sorted(SettlementEvent.objects.filter(transaction=txn, type="delayed").values_list("event_id", flat=True)) \
        == [f"delayed:{txn.id}", f"delayed:{txn.id}:1"]
    assert Notification.objects.filter(transaction=txn, kind="late").count() == 2


@pytest.mark.django_db
def test_a_late_swipe_returned_gets_its_cause_re_suggested(merchant):
    txn = make_transaction(merchant=merchant, captured_at=CAPTURED)
    push(txn, "settled", CAPTURED + timedelta(hours=20))
    with time_machine.travel(TUESDAY_18 + timedelta(hours=2, minutes=1), tick=False):
        delays_flag()
    case = FollowUpCase.objects.get(transaction=txn)
    assert case.cause == "bank_processing"
    push(txn, "returned", TUESDAY_18 + timedelta(hours=3))
    case.refresh_from_db()
    assert case.cause == "wrong_account" and case.cause_evidence["rule"] == "status_returned"
    assert case.entries.filter(kind="cause").count() == 1


def _new_year_eve_swipe(merchant):
    CalendarYear.objects.filter(calendar=merchant.channel.calendar, year=2027).delete()
    with time_machine.travel(datetime(2026, 12, 31, 10, 5, tzinfo=SH), tick=False):
        txn = make_transaction(merchant=merchant, captured_at=datetime(2026, 12, 31, 10, 0, tzinfo=SH))
    assert txn.expected_by == datetime(2027, 1, 1, 18, 0, tzinfo=SH)  # the Monday-Friday fallback
    assert txn.calendar_incomplete
    return txn


def _enter_2027(merchant):
    parsed = notice_parse(DEMO_2027.read_text(encoding="utf-8"))
    calendar_year_replace(calendar=merchant.channel.calendar, year=2027, holidays=parsed.holidays,
                          workdays=parsed.workdays, complete=True, source="notice (made-up demo)")
    return recompute_pending()


@pytest.mark.django_db
def test_time_machine_2027_entered_before_the_false_deadline(merchant):
    txn = _new_year_eve_swipe(merchant)
    with time_machine.travel(datetime(2026, 12, 31, 15, 0, tzinfo=SH), tick=False):
        _enter_2027(merchant)
    txn.refresh_from_db()
    assert txn.expected_by == datetime(2027, 1, 4, 18, 0, tzinfo=SH)  # the first 2027 working day
    assert not txn.calendar_incomplete
    assert len(rescheduled(txn)) == 1
    with time_machine.travel(datetime(2027, 1, 1, 20, 1, tzinfo=SH), tick=False):
        assert delays_flag().flagged == 0
    assert not FollowUpCase.objects.filter(transaction=txn).exists()
    assert Notification.objects.filter(merchant=merchant).values_list("kind", flat=True).get() == "rescheduled"


@pytest.mark.django_db
def test_time_machine_2027_entered_after_a_case_opened_for_nothing(merchant):
    txn = _new_year_eve_swipe(merchant)
    with time_machine.travel(datetime(2027, 1, 1, 20, 1, tzinfo=SH), tick=False):
        assert delays_flag().cases_opened == 1
    with time_machine.travel(datetime(2027, 1, 2, 9, 0, tzinfo=SH), tick=False):
        report = _enter_2027(merchant)
    assert report.unlated == 1
    txn.refresh_from_db()
    assert txn.expected_by == datetime(2027, 1, 4, 18, 0, tzinfo=SH) and txn.delayed_since is None
    assert len(rescheduled(txn)) == 1
    case = FollowUpCase.objects.get(transaction=txn)
    assert (case.status, case.outcome) == ("resolved", "rescheduled")
    assert Notification.objects.filter(merchant=merchant, kind="rescheduled").count() == 1


@pytest.mark.django_db
def test_the_channel_rules_door_records_one_recompute_for_what_moves(merchant):
    from datetime import time as clock

    from channels.calendar_edit import CalendarEditError, channel_rules_set

    channel = merchant.channel
    assert channel_rules_set(channel=channel, grace_minutes=channel.grace_minutes) is None  # nothing changed
    request_id = channel_rules_set(channel=channel, grace_minutes=30, arrival_by_time=clock(16, 0), source="ops")
    request = DeadlineRecompute.objects.get(pk=request_id)
    assert (request.reason, request.channel_id, request.calendar_id) == ("channel_rules", channel.pk, None)
    assert sorted(request.detail["fields"]) == ["arrival_by_time", "grace_minutes"] and request.detail["source"] == "ops"
    channel.refresh_from_db()
    assert (channel.grace_minutes, channel.arrival_by_time) == (30, clock(16, 0))
    with pytest.raises(CalendarEditError) as err:
        channel_rules_set(channel=channel, name="renamed")
    assert err.value.code == "unknown_rule_field"
    assert DeadlineRecompute.objects.filter(reason="channel_rules").count() == 1
