"""Suggested causes: each rule, and the order in which they win."""

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from channels.business_days import BusinessDays
from settlement.services.causes import CauseFacts, cause_suggest, evidence_describe, holidays_in_window

SH = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("facts", "cause", "rule"),
    [
        (CauseFacts(status="held", channel_health="down"), "risk_hold", "status_held"),
        (CauseFacts(status="returned"), "wrong_account", "status_returned"),
        (CauseFacts(status="settled", channel_health="down", poll_failures=9), "channel_outage", "polls_failing"),
        (CauseFacts(status="captured", poll_failures=3, outage_failures=3), "channel_outage", "polls_failing"),
        (CauseFacts(status="settled", payout_reference="P1", payout_amount=Decimal("10.00"),
                    payout_net_sum=Decimal("9.00"), payout_discrepancy=Decimal("1.00")),
         "data_error", "payout_amount_mismatch"),
        (CauseFacts(status="cleared", holidays=((date(2026, 10, 1), "National Day"),)),
         "holiday_backlog", "window_spans_holiday"),
        (CauseFacts(status="cleared", burst=40, burst_threshold=20), "holiday_backlog", "channel_burst"),
        (CauseFacts(status="settled"), "bank_processing", "settled_not_credited"),
        (CauseFacts(status="cleared"), "platform_settlement", "cleared_not_settled"),
        (CauseFacts(status="captured"), "clearing_house", "captured_not_cleared"),
        (CauseFacts(status="captured", poll_failures=1, burst=3, burst_threshold=20), "clearing_house",
         "captured_not_cleared"),
    ],
)
def test_each_rule(facts, cause, rule):
    suggestion = cause_suggest(facts)
    assert (suggestion.cause, suggestion.evidence["rule"]) == (cause, rule)


def test_evidence_carries_the_facts_that_led_to_it():
    suggestion = cause_suggest(CauseFacts(status="settled", channel_health="down", poll_failures=4,
                                          last_poll_error="timeout after 10 s"))
    assert suggestion.evidence == {"status": "settled", "channel_health": "down", "poll_failures": 4,
                                   "last_poll_error": "timeout after 10 s", "rule": "polls_failing"}
    lines = evidence_describe(suggestion.evidence)
    assert any("timeout after 10 s" in line for line in lines) and any("4" in line for line in lines)


def test_matching_payout_is_no_data_error():
    facts = CauseFacts(status="settled", payout_reference="P1", payout_amount=Decimal("9.00"),
                       payout_net_sum=Decimal("9.00"))
    assert cause_suggest(facts).cause == "bank_processing"


def test_only_a_stored_discrepancy_is_a_data_error():
    # The payout door stores discrepancies (PayoutDiscrepancy); the rule never recomputes one.
    unstored = CauseFacts(status="settled", payout_reference="P1", payout_amount=Decimal("10.00"),
                          payout_net_sum=Decimal("9.00"))
    assert cause_suggest(unstored).cause == "bank_processing"


def test_holidays_in_window_names_statutory_days_off_only():
    days = BusinessDays.build(holidays={date(2026, 10, 1): "国庆节", date(2026, 10, 2): "国庆节"},
                              known_years=[2026])
    found = holidays_in_window(days, business_date=date(2026, 9, 30),
                               expected_by=datetime(2026, 10, 5, 18, 0, tzinfo=SH), tz=SH)
    assert found == ((date(2026, 10, 1), "国庆节"), (date(2026, 10, 2), "国庆节"))
    weekend_only = holidays_in_window(days, business_date=date(2026, 11, 20),
                                      expected_by=datetime(2026, 11, 23, 18, 0, tzinfo=SH), tz=SH)
    assert weekend_only == ()
