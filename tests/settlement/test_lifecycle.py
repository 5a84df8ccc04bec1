"""The lifecycle fold (pure). Any arrival order of a valid lifecycle ends where the
in-order sequence ends; nothing valid is rejected; the main line never goes back."""

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from settlement.lifecycle import LifecycleEvent, Outcome, Status, fold, judge
from tests.settlement.lifecycles import START, arrivals, in_order_status, lifecycles

RANK = {"captured": 0, "cleared": 1, "settled": 2, "returned": 2, "credited": 3, "reversed": 3, "refunded": 3}


def as_events(events):
    return [LifecycleEvent(kind, at, key) for kind, at, key in events]


def deliver(delivered):
    """What the service does: skip duplicates by id, judge the rest, keep non-rejected."""
    known: list[LifecycleEvent] = []
    keys = set()
    progress = 0
    for event in delivered:
        if event.key in keys:
            continue
        verdict = judge(known, event)
        assert verdict.outcome != Outcome.REJECTED, (event, verdict)
        known.append(event)
        keys.add(event.key)
        underlying = verdict.state.resume_status or verdict.state.status
        assert RANK[underlying] >= progress, "moved backwards"
        progress = RANK[underlying]
    return fold(known)


@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_any_arrival_order_ends_in_the_in_order_state(data):
    events = as_events(data.draw(lifecycles()))
    delivered = arrivals(events, data.draw)
    expected = in_order_status([(e.type, e.occurred_at, e.key) for e in events])
    state = deliver(delivered)
    assert state.status == expected


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_in_order_every_event_is_applied(data):
    events = as_events(data.draw(lifecycles()))
    known: list[LifecycleEvent] = []
    for event in events:
        assert judge(known, event).outcome == Outcome.APPLIED
        known.append(event)


def ev(kind, minutes, key=None):
    return LifecycleEvent(kind, START + timedelta(minutes=minutes), key or f"{kind}{minutes}")


def test_older_event_after_a_newer_one_is_stale_and_fills_in_the_time():
    known = [ev("credited", 30)]
    verdict = judge(known, ev("settled", 20))
    assert verdict.outcome == Outcome.STALE
    assert verdict.state.status == Status.CREDITED
    assert verdict.state.settled_at == START + timedelta(minutes=20)


def test_release_returns_to_where_it_was():
    state = fold([ev("cleared", 1), ev("held", 2)])
    assert (state.status, state.resume_status) == (Status.HELD, Status.CLEARED)
    assert fold([ev("cleared", 1), ev("held", 2), ev("released", 3)]).status == Status.CLEARED


def test_release_arriving_before_its_hold_still_counts():
    known = [ev("cleared", 1), ev("released", 3)]
    assert judge(known, ev("held", 2)).state.status == Status.CLEARED


def test_a_later_settlement_ends_a_hold_whose_release_is_in_flight():
    assert fold([ev("held", 1), ev("settled", 5)]).status == Status.SETTLED


def test_returned_then_settled_again_then_credited():
    events = [ev("cleared", 1), ev("settled", 2), ev("returned", 3)]
    assert fold(events).status == Status.RETURNED
    assert fold([*events, ev("settled", 4)]).status == Status.SETTLED
    assert fold([*events, ev("settled", 4), ev("credited", 5)]).status == Status.CREDITED


def test_event_after_final_contradicts_it():
    verdict = judge([ev("credited", 10)], ev("returned", 11))
    assert (verdict.outcome, verdict.code) == (Outcome.CONTRADICTS_FINAL, "transaction_final")
    assert verdict.state.status == Status.CREDITED


def test_an_earlier_event_that_would_rewrite_a_final_history_contradicts_it():
    # cleared -> reversed, then a settlement dated between them: folded in, the reversal
    # would no longer apply and the swipe would come back to life as settled.
    verdict = judge([ev("cleared", 1), ev("reversed", 3)], ev("settled", 2))
    assert (verdict.outcome, verdict.code) == (Outcome.CONTRADICTS_FINAL, "transaction_final")
    assert verdict.state.status == Status.REVERSED


def test_another_final_outcome_of_any_date_contradicts_it():
    assert judge([ev("settled", 1), ev("credited", 5)], ev("refunded", 3)).outcome == Outcome.CONTRADICTS_FINAL
    assert judge([ev("cleared", 1), ev("refunded", 5)], ev("reversed", 9)).outcome == Outcome.CONTRADICTS_FINAL


def test_honest_late_news_before_the_final_event_is_stale():
    known = [ev("cleared", 1), ev("reversed", 5)]
    assert judge(known, ev("held", 3)).outcome == Outcome.STALE
    assert judge([ev("credited", 10)], ev("credited", 12, "again")).outcome == Outcome.STALE
    assert judge([ev("credited", 10)], ev("released", 12)).outcome == Outcome.STALE


def test_the_transition_table_makes_final_statuses_absorbing():
    from settlement.lifecycle import FINAL_STATUSES, TRANSITIONS, move_allowed

    for final in FINAL_STATUSES:
        assert TRANSITIONS[final] == frozenset()
        assert all(not move_allowed(final, other) for other in Status if other != final)
    assert set(TRANSITIONS) == set(Status)
    assert move_allowed(Status.SETTLED, Status.CREDITED) and not move_allowed(Status.SETTLED, Status.REVERSED)


def test_reversal_of_a_settled_swipe_is_rejected():
    verdict = judge([ev("settled", 10)], ev("reversed", 11))
    assert (verdict.outcome, verdict.code) == (Outcome.REJECTED, "invalid_transition")
    assert verdict.state.status == Status.SETTLED


def test_reversal_from_cleared_is_final():
    assert fold([ev("cleared", 1), ev("reversed", 2)]).status == Status.REVERSED
    assert judge([ev("cleared", 1), ev("reversed", 2)], ev("settled", 3)).code == "transaction_final"


def test_repeat_of_the_current_status_is_stale():
    assert judge([ev("cleared", 1)], ev("cleared", 2, "other")).outcome == Outcome.STALE
