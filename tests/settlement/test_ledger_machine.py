"""A Hypothesis state machine over the real services on PostgreSQL (issue 9): pushes
(through the push item rules), polls (channel_poll with a fake status API), duplicate
and reordered deliveries, contradictory events, staff-recorded events and resolutions,
late scans and clock advances. After every step the ledger's invariants hold."""

import json
import os
from datetime import datetime, timedelta
from itertools import count
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction as db_transaction
from django.db.models import Count, Q
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from channels.models import Channel
from channels.polling import PollAnswer
from settlement.items import ItemError, parse_event
from settlement.lifecycle import FINAL_STATUSES, LIFECYCLE_EVENT_TYPES
from settlement.models import CaseEntry, FollowUpCase, SettlementEvent, Transaction
from settlement.models.cases import Cause
from settlement.pan import contains_full_pan
from settlement.services.cases import CaseError, case_resolve
from settlement.services.delays import delays_flag
from settlement.services.events import events_apply
from settlement.services.polling import channel_poll
from settlement.services.staff_events import staff_event_record
from tests.factories import MerchantFactory, UserFactory, make_transaction

SH = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 16, 10, 0, tzinfo=SH)  # a Monday
KINDS = sorted(LIFECYCLE_EVENT_TYPES)
PAN = "4111 1111 1111 1111"
OPEN = ["open", "claimed", "escalated"]
_ids = count()


class Ledger(RuleBasedStateMachine):
    swipes = Bundle("swipes")
    sent = Bundle("sent")  # event items already delivered once (for redelivery)

    def __init__(self):
        super().__init__()
        self._atomic = db_transaction.atomic()
        self._atomic.__enter__()  # each example rolls back to here
        self._clock = time_machine.travel(START, tick=False)
        self._traveller = self._clock.start()
        self._notify = mock.patch("settlement.tasks.send_notification_emails.delay", lambda ids: None)
        self._notify.start()
        self._poll = mock.patch("settlement.services.polling.status_query", self._status_api)
        self._poll.start()
        self.merchant = MerchantFactory()
        Channel.objects.filter(pk=self.merchant.channel_id).update(poll_url="http://127.0.0.1:9/status")
        self.channel = Channel.objects.get(pk=self.merchant.channel_id)
        self.staff = UserFactory(is_staff=True, username=f"staff{next(_ids)}")
        self._n = count()  # per example, so a replay draws the same ids and references
        self.acquirer_knows: dict[str, list[dict]] = {}  # what the fake status API answers
        self.final: dict[int, str] = {}

    def teardown(self):
        self._poll.stop()
        self._notify.stop()
        self._clock.stop()
        db_transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def _status_api(self, *, url, references):
        return {r: PollAnswer(r, True, list(self.acquirer_knows.get(r, []))) for r in references}

    def _item(self, txn: Transaction, kind: str, back_minutes: int, bad: str) -> dict:
        now = timezone.now()
        at = max(txn.captured_at + timedelta(minutes=1), now - timedelta(minutes=back_minutes))
        item = {"event_id": f"ev{next(self._n)}", "reference": txn.reference, "type": kind,
                "occurred_at": min(at, now).isoformat()}
        if bad == "pan":
            item["reason"] = f"card {PAN}"
        elif bad == "long_id":
            item["event_id"] = "x" * 101
        elif bad == "reserved":
            item["event_id"] = f"delayed:{txn.pk}"
        return item

    # --- rules --------------------------------------------------------------------
    @initialize(target=swipes)
    def a_day_old_swipe(self):
        return self._swipe(30)

    def _swipe(self, hours_ago: int) -> Transaction:
        return make_transaction(merchant=self.merchant, reference=f"T{next(self._n)}",
                                captured_at=timezone.now() - timedelta(hours=hours_ago))

    @rule(target=swipes, hours_ago=st.integers(0, 72))
    def swipe(self, hours_ago):
        return self._swipe(hours_ago)

    @rule(target=sent, txn=swipes, kind=st.sampled_from(KINDS), back=st.integers(0, 3000),
          bad=st.sampled_from(["", "", "", "pan", "long_id", "reserved"]))
    def push(self, txn, kind, back, bad):
        item = self._item(txn, kind, back, bad)
        [result] = self._push([item])
        return item, result

    @rule(txn=swipes, steps=st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 3000)), min_size=2, max_size=5))
    def push_batch(self, txn, steps):
        """Several events of one swipe in one request, in any order (the fold sorts them)."""
        self._push([self._item(txn, kind, back, "") for kind, back in steps])

    @rule(txn=swipes, final=st.sampled_from(["credited", "reversed", "refunded"]), back=st.integers(0, 600),
          then=st.sampled_from(KINDS), then_back=st.integers(0, 3000))
    def finish_then_contradict(self, txn, final, back, then, then_back):
        """A final event, then another of any date: honest late news or a contradiction."""
        self._push([self._item(txn, final, back, "")])
        self._push([self._item(txn, then, then_back, "")])

    @rule(sent=sent)
    def redeliver(self, sent):
        """The same event again (an acquirer retry): a stored one is a duplicate with no
        second effect; a refused one is judged afresh (it was never stored)."""
        item, first = sent
        rows = SettlementEvent.objects.filter(channel=self.channel, event_id=item["event_id"])
        before = rows.count()
        [result] = self._push([item])
        if first != "rejected":
            assert (result, rows.count()) == ("duplicate", before)

    def _push(self, raw_items: list[dict]) -> list[str]:
        """What EventsView does: the item rules, then the one door."""
        now = timezone.now()
        valid, results = [], []
        for raw in raw_items:
            try:
                valid.append(parse_event(raw, now=now))
            except ItemError:
                results.append("rejected")
        if valid:
            results += [r.result for r in events_apply(channel=self.channel, events=valid, source="push", now=now)]
        return results

    @rule(txn=swipes, kind=st.sampled_from(KINDS), back=st.integers(0, 3000),
          bad=st.sampled_from(["", "", "pan", "long_id", "reserved"]))
    def poll(self, txn, kind, back, bad):
        self.acquirer_knows.setdefault(txn.reference, []).append(self._item(txn, kind, back, bad))
        Transaction.objects.filter(merchant=self.merchant).exclude(next_poll_at=None).update(
            next_poll_at=timezone.now())
        report = channel_poll(channel_id=self.channel.id, now=timezone.now())
        assert not report.failed, report

    @rule(txn=swipes, kind=st.sampled_from(["credited", "returned", "refunded", "reversed", "released"]),
          back=st.integers(0, 600))
    def staff_records(self, txn, kind, back):
        case = FollowUpCase.objects.filter(transaction=txn, status__in=OPEN).first()
        if case is None:
            return
        at = max(txn.captured_at, timezone.now() - timedelta(minutes=back))
        try:
            staff_event_record(case=case, by=self.staff, status=kind, occurred_at=at, bank_reference="BANK-1",
                               reason="wrong account" if kind == "returned" else "", evidence="phoned the bank")
        except CaseError as exc:
            assert exc.code in {"transaction_final", "invalid_transition"}, exc.code

    @rule(txn=swipes, outcome=st.sampled_from(["credited_late", "refunded"]))
    def staff_resolves(self, txn, outcome):
        case = FollowUpCase.objects.filter(transaction=txn, status__in=OPEN).first()
        if case is None:
            return
        try:
            case_resolve(case=case, by=self.staff, outcome=outcome, bank_reference="BANK-2",
                         bank_time=timezone.now() - timedelta(minutes=5))
        except CaseError as exc:
            assert exc.code in {"transaction_final", "invalid_transition"}, exc.code

    @rule(txn=swipes)
    def staff_closes_a_data_error(self, txn):
        case = FollowUpCase.objects.filter(transaction=txn, status__in=OPEN, cause=Cause.DATA_ERROR).first()
        if case is not None:
            case_resolve(case=case, by=self.staff, outcome="no_fault")

    @rule()
    def late_scan(self):
        delays_flag(now=timezone.now())

    @rule(hours=st.integers(1, 48))
    def clock_advances(self, hours):
        self._traveller.shift(timedelta(hours=hours))

    # --- invariants -----------------------------------------------------------------
    @invariant()
    def final_is_final(self):
        for pk, status in Transaction.objects.filter(merchant=self.merchant).values_list("pk", "status"):
            if pk in self.final:
                assert status == self.final[pk], f"swipe {pk} left {self.final[pk]} for {status}"
            elif status in FINAL_STATUSES:
                self.final[pk] = status

    @invariant()
    def every_status_change_has_its_event_row(self):
        rows = SettlementEvent.objects.filter(transaction__merchant=self.merchant).order_by("transaction_id", "id")
        chain: dict[int, str] = {}
        for txn_id, outcome, from_status, to_status in rows.values_list(
                "transaction_id", "outcome", "from_status", "to_status"):
            if outcome == "applied":
                assert from_status == chain.get(txn_id, ""), (txn_id, from_status, chain.get(txn_id))
                chain[txn_id] = to_status
            else:  # stale or contradicts_final: stored, changed nothing
                assert from_status == to_status == chain[txn_id]
        for pk, status in Transaction.objects.filter(merchant=self.merchant).values_list("pk", "status"):
            assert chain[pk] == status

    @invariant()
    def late_swipes_have_one_open_delay_case_and_final_ones_none(self):
        swipes = Transaction.objects.filter(merchant=self.merchant).annotate(
            open_delay=Count("cases", filter=Q(cases__status__in=OPEN) & ~Q(cases__cause=Cause.DATA_ERROR)),
            open_any=Count("cases", filter=Q(cases__status__in=OPEN)),
        )
        for txn in swipes:
            if txn.status in FINAL_STATUSES:
                assert txn.open_delay == 0, f"final swipe {txn.pk} keeps a delay case"
            elif txn.delayed_since is not None:
                assert (txn.open_delay, txn.open_any) == (1, 1), f"late swipe {txn.pk}: {txn.open_delay} cases"

    @invariant()
    def no_stored_text_holds_a_card_number(self):
        texts = [
            *SettlementEvent.objects.filter(transaction__merchant=self.merchant).values_list(
                "event_id", "reason", "payout_reference", "payload"),
            *CaseEntry.objects.filter(case__merchant=self.merchant).values_list("body", "data", "contact_reference"),
            *FollowUpCase.objects.filter(merchant=self.merchant).values_list("cause_evidence", "reference"),
            *Transaction.objects.filter(merchant=self.merchant).values_list("masked_pan", "reference"),
        ]
        found = [value for row in texts for value in row
                 if contains_full_pan(value if isinstance(value, str) else json.dumps(value))]
        assert not found, found


@pytest.mark.django_db
def test_the_ledger_keeps_its_invariants_under_any_sequence_of_deliveries():
    run_state_machine_as_test(Ledger, settings=settings(
        max_examples=int(os.environ.get("LEDGER_EXAMPLES", "12")), stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    ))
