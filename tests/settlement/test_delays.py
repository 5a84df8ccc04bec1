"""The late scan with a controllable clock."""

import threading
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from channels.selectors import business_days_for
from settlement.models import CaseEntry, ChannelIncident, FollowUpCase, Notification, SettlementEvent, Transaction
from settlement.services.delays import case_sla_due, delays_flag, delays_mark_at_risk, late_probe_sql
from settlement.services.transactions import NewTransaction, build_transaction
from tests.factories import MerchantFactory, make_transaction, push

SH = ZoneInfo("Asia/Shanghai")
# Monday 2026-11-16 10:00 Shanghai, T1: expected Tuesday 18:00, late after 20:00 (2 h grace).
CAPTURED = datetime(2026, 11, 16, 10, 0, tzinfo=SH)
EXPECTED = datetime(2026, 11, 17, 18, 0, tzinfo=SH)


def bulk_transactions(merchant, n, captured_at, prefix="B"):
    """Many swipes at once (no captured events: the scan does not need them)."""
    channel = merchant.channel
    days = business_days_for(channel.calendar_id)
    rows = [
        build_transaction(
            channel=channel, days=days, now=captured_at,
            item=NewTransaction(reference=f"{prefix}{i:07d}", merchant=merchant, amount=100 + i % 50,
                                captured_at=captured_at, masked_pan="622202******1234"),
        )
        for i in range(n)
    ]
    return Transaction.objects.bulk_create(rows, batch_size=2000)


@pytest.mark.django_db
def test_exactly_the_late_rows_are_flagged(merchant):
    late = make_transaction(merchant=merchant, captured_at=CAPTURED)
    not_yet = make_transaction(merchant=merchant, captured_at=CAPTURED + timedelta(days=1))
    done = make_transaction(merchant=merchant, captured_at=CAPTURED)
    push(done, "credited", CAPTURED + timedelta(hours=20))
    assert late.expected_by == EXPECTED

    # given: one minute before the breach nothing is late
    with time_machine.travel(EXPECTED + timedelta(hours=2) - timedelta(minutes=1), tick=False):
        assert delays_flag().flagged == 0
    # when: the scan runs just after the breach
    with time_machine.travel(EXPECTED + timedelta(hours=2, minutes=1), tick=False):
        report = delays_flag()
    # then
    assert (report.flagged, report.cases_opened, report.notifications) == (1, 1, 1)
    flagged = set(Transaction.objects.filter(delayed_since__isnull=False).values_list("id", flat=True))
    assert flagged == {late.id}
    not_yet.refresh_from_db()
    assert not_yet.delayed_since is None
    case = FollowUpCase.objects.get()
    assert (case.transaction_id, case.status, case.origin) == (late.id, "open", "detected")
    assert case.cause == "clearing_house" and case.cause_evidence["rule"] == "captured_not_cleared"
    assert case.amount_at_stake == late.amount
    event = SettlementEvent.objects.get(type="delayed")
    assert (event.event_id, event.source, event.from_status, event.to_status) == (
        f"delayed:{late.id}", "system", "captured", "captured")
    late.refresh_from_db()
    assert late.status == "captured"  # found late is no status change
    assert CaseEntry.objects.filter(case=case, kind="opened").count() == 1
    assert Notification.objects.get().kind == "late"


@pytest.mark.django_db
def test_at_risk_marks_swipes_close_to_their_deadline(merchant):
    soon = make_transaction(merchant=merchant, captured_at=CAPTURED)
    later = make_transaction(merchant=merchant, captured_at=CAPTURED + timedelta(days=1))
    with time_machine.travel(EXPECTED - timedelta(minutes=20), tick=False):
        assert delays_mark_at_risk() == 1
        assert delays_mark_at_risk() == 0  # once
    soon.refresh_from_db()
    later.refresh_from_db()
    assert soon.at_risk_since is not None and later.at_risk_since is None


@pytest.mark.django_db
def test_holidays_push_the_deadline_and_become_the_cause(merchant):
    # Wednesday 2026-09-30, T1: National Day and the Mid-Autumn holiday push it to October.
    txn = make_transaction(merchant=merchant, captured_at=datetime(2026, 9, 30, 10, 0, tzinfo=SH))
    assert txn.expected_by.astimezone(SH).date() > datetime(2026, 10, 7).date()
    with time_machine.travel(datetime(2026, 10, 6, 12, 0, tzinfo=SH), tick=False):
        assert delays_flag().flagged == 0  # a weekday-only rule would have flagged it on 10-01
    with time_machine.travel(txn.overdue_at + timedelta(minutes=1), tick=False):
        assert delays_flag().flagged == 1
    case = FollowUpCase.objects.get()
    assert case.cause == "holiday_backlog"
    assert "2026-10-01" in [day for day, _name in case.cause_evidence["holidays"]]


@pytest.mark.django_db
def test_repeated_scans_flag_nothing_twice(merchant):
    txns = [make_transaction(merchant=merchant, captured_at=CAPTURED) for _ in range(3)]
    with time_machine.travel(EXPECTED + timedelta(hours=3), tick=False):
        first = delays_flag(batch_size=2)
        second = delays_flag()
    assert (first.flagged, first.batches) == (3, 2)
    assert second.flagged == 0
    assert FollowUpCase.objects.count() == 3
    assert Notification.objects.count() == 3
    assert SettlementEvent.objects.filter(type="delayed").count() == 3
    assert {c.transaction_id for c in FollowUpCase.objects.all()} == {t.id for t in txns}


@pytest.mark.django_db
def test_a_batch_costs_a_constant_number_of_statements(merchant):
    bulk_transactions(merchant, 5, CAPTURED, prefix="S")
    with time_machine.travel(EXPECTED + timedelta(hours=3), tick=False):
        with CaptureQueriesContext(connection) as small:
            delays_flag(batch_size=1000)
    bulk_transactions(merchant, 300, CAPTURED, prefix="L")
    with time_machine.travel(EXPECTED + timedelta(hours=4), tick=False):
        with CaptureQueriesContext(connection) as large:
            assert delays_flag(batch_size=1000).flagged == 300

    def statements(ctx):
        return [q for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"] and "calendar" not in q["sql"]]

    # both below the incident threshold... the large one opens an incident (+3 statements)
    assert len(statements(large)) <= len(statements(small)) + 3


@pytest.mark.django_db
def test_the_scan_reuses_an_open_inquiry_case(merchant):
    txn = make_transaction(merchant=merchant, captured_at=CAPTURED)
    inquiry = FollowUpCase.objects.create(
        reference="Q-1", transaction=txn, merchant=merchant, channel=merchant.channel, origin="inquiry",
        opened_at=CAPTURED, sla_due_at=EXPECTED, last_action_at=CAPTURED,
    )
    with time_machine.travel(EXPECTED + timedelta(hours=3), tick=False):
        report = delays_flag()
    assert (report.flagged, report.cases_opened) == (1, 0)
    assert list(FollowUpCase.objects.values_list("id", flat=True)) == [inquiry.id]


@pytest.mark.django_db
def test_many_late_swipes_of_one_channel_become_one_incident(merchant, settings):
    settings.DELAYS_INCIDENT_THRESHOLD = 5
    bulk_transactions(merchant, 3, CAPTURED, prefix="A")
    with time_machine.travel(EXPECTED + timedelta(hours=2, minutes=5), tick=False):
        delays_flag()
    assert not ChannelIncident.objects.exists()  # three is not a burst
    bulk_transactions(merchant, 4, CAPTURED + timedelta(minutes=30), prefix="C")
    with time_machine.travel(EXPECTED + timedelta(hours=2, minutes=40), tick=False):
        report = delays_flag()
    assert report.incidents_opened == 1
    incident = ChannelIncident.objects.get()
    assert incident.channel_id == merchant.channel_id
    # the earlier three (same window) joined it too
    assert FollowUpCase.objects.filter(incident=incident).count() == 7
    other = MerchantFactory()
    make_transaction(merchant=other, captured_at=CAPTURED)
    with time_machine.travel(EXPECTED + timedelta(hours=2, minutes=50), tick=False):
        delays_flag()
    assert FollowUpCase.objects.get(channel=other.channel).incident is None


@pytest.mark.django_db
def test_an_arrival_closes_the_case_as_credited_late_with_the_delay(merchant):
    txn = make_transaction(merchant=merchant, captured_at=CAPTURED)
    with time_machine.travel(EXPECTED + timedelta(hours=3), tick=False):
        delays_flag()
    credited_at = EXPECTED + timedelta(hours=5)
    with time_machine.travel(credited_at + timedelta(minutes=1), tick=False):
        assert push(txn, "credited", credited_at).result == "applied"
    case = FollowUpCase.objects.get()
    assert (case.status, case.outcome, case.delay_seconds) == ("resolved", "credited_late", 5 * 3600)
    assert case.entries.filter(kind="resolved").exists()
    assert Notification.objects.filter(transaction=txn, kind="arrived").count() == 1


@pytest.mark.django_db
def test_a_refund_closes_the_case_as_refunded(merchant):
    txn = make_transaction(merchant=merchant, captured_at=CAPTURED)
    with time_machine.travel(EXPECTED + timedelta(hours=3), tick=False):
        delays_flag()
        push(txn, "refunded", EXPECTED + timedelta(hours=2, minutes=30))
    case = FollowUpCase.objects.get()
    assert (case.status, case.outcome) == ("resolved", "refunded")
    assert not Notification.objects.filter(kind="arrived").exists()


def test_sla_due_time_skips_weekends_and_holidays(db):
    from tests.factories import china_calendar

    days = business_days_for(china_calendar().id)
    friday = datetime(2026, 11, 20, 15, 0, tzinfo=SH)
    assert case_sla_due(days=days, opened_at=friday, tz=SH, business_days=1) == datetime(2026, 11, 23, 15, 0, tzinfo=SH)
    before_national_day = datetime(2026, 9, 30, 9, 30, tzinfo=SH)
    due = case_sla_due(days=days, opened_at=before_national_day, tz=SH, business_days=1)
    assert due.date() > datetime(2026, 10, 7).date() and due.time().hour == 9


@pytest.mark.django_db
def test_dry_run_prints_and_changes_nothing(merchant, capsys):
    txn = make_transaction(merchant=merchant, captured_at=CAPTURED)
    with time_machine.travel(EXPECTED + timedelta(hours=3), tick=False):
        call_command("flag_delays", "--dry-run")
    out = capsys.readouterr().out
    assert "1 late swipe(s) would be flagged" in out and txn.reference in out
    assert not FollowUpCase.objects.exists()
    txn.refresh_from_db()
    assert txn.delayed_since is None
    with time_machine.travel(EXPECTED + timedelta(hours=3), tick=False):
        call_command("flag_delays")
    assert FollowUpCase.objects.count() == 1


@pytest.mark.django_db
def test_the_beat_task_is_scheduled_every_minute(settings):
    from settlement.tasks import flag_delays

    entry = settings.CELERY_BEAT_SCHEDULE["flag-delays"]
    assert (entry["task"], entry["schedule"]) == ("settlement.tasks.flag_delays", 60.0)
    assert flag_delays() == {"at_risk": 0, "flagged": 0, "cases": 0, "escalated": 0, "arrival_missed": 0}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_scanners_open_exactly_one_case_and_one_notification_each(settings, monkeypatch):
    from settlement.tasks import send_notification_emails

    enqueued = []
    monkeypatch.setattr(send_notification_emails, "delay", lambda ids: enqueued.extend(ids))
    settings.DELAYS_INCIDENT_THRESHOLD = 10**6  # the race under test is cases, not incidents
    merchant = MerchantFactory()
    txns = bulk_transactions(merchant, 3000, CAPTURED, prefix="R")
    now = EXPECTED + timedelta(hours=3)
    barrier = threading.Barrier(2)
    reports, errors = [], []

    def scan():
        try:
            barrier.wait()
            reports.append(delays_flag(now=now, batch_size=200))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scan) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r.flagged for r in reports) == 3000
    assert all(r.flagged > 0 for r in reports) or connection.vendor != "postgresql"
    assert FollowUpCase.objects.count() == 3000
    assert FollowUpCase.objects.values("transaction_id").distinct().count() == 3000
    assert Notification.objects.filter(kind="late").count() == 3000
    assert sorted(enqueued) == sorted(Notification.objects.values_list("id", flat=True))  # each emailed once
    assert SettlementEvent.objects.filter(type="delayed").count() == 3000
    assert Transaction.objects.filter(id__in=[t.id for t in txns], delayed_since__isnull=True).count() == 0


@pytest.mark.django_db
def test_the_late_scan_uses_the_partial_index(merchant):
    """Generate a table the planner would rather not scan: 30k swipes of which only a
    handful are still unflagged and non-final, then ANALYZE. The plan must then be a
    range scan of txn_overdue_unflagged, both for the probe and for the claiming UPDATE."""
    assert connection.vendor == "postgresql"
    table = Transaction._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {table} (channel_id, reference, merchant_id, amount, fee, net, currency, masked_pan,
                method, captured_at, status, resume_status, business_date, expected_by, overdue_at,
                calendar_incomplete, poll_attempts, created_at, updated_at, delayed_since)
            SELECT %s, 'G' || g, %s, 100, 0.60, 99.40, 'CNY', '', 'chip', now() - g * interval '1 minute',
                CASE WHEN g %% 1000 = 0 THEN 'captured' ELSE 'credited' END, '', current_date,
                now() - g * interval '1 minute', now() - g * interval '1 minute', false, 0, now(), now(), NULL
            FROM generate_series(1, 30000) AS g""",
            [merchant.channel_id, merchant.id],
        )
        cursor.execute(f"ANALYZE {table}")
        sql, _ = late_probe_sql()
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, [datetime.now(tz=SH), 1000])
        probe_plan = str(cursor.fetchone()[0])
    assert "txn_overdue_unflagged" in probe_plan, probe_plan
    # and the real claim, inside a transaction we roll back
    from django.db import transaction

    with CaptureQueriesContext(connection) as ctx:
        try:
            with transaction.atomic():
                delays_flag(now=datetime.now(tz=SH), batch_size=1000)
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    claim = next(q["sql"] for q in ctx.captured_queries if q["sql"].startswith("WITH due"))
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + claim)
        assert "txn_overdue_unflagged" in str(cursor.fetchone()[0])


@pytest.mark.django_db
def test_a_backlog_brings_in_another_worker_once_and_each_run_is_bounded(merchant):
    bulk_transactions(merchant, 5, CAPTURED, prefix="K")
    calls = []
    with time_machine.travel(EXPECTED + timedelta(hours=3), tick=False):
        report = delays_flag(batch_size=2, max_batches=2, on_full_batch=lambda: calls.append(1))
        assert (report.flagged, report.more, calls) == (4, True, [1])
        rest = delays_flag(batch_size=2, on_full_batch=lambda: calls.append(2))
    assert (rest.flagged, rest.more, calls) == (1, False, [1])
