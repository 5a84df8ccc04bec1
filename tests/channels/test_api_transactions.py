"""POST transactions and GET transactions/{reference}."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from settlement.models import SettlementEvent, Transaction
from tests.channels.conftest import swipe
from tests.factories import MerchantFactory, TerminalFactory

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_a_new_swipe_is_created_with_its_expected_arrival_in_the_channel_zone(acquirer, terminal):
    # given a swipe on Friday 2026-11-20 14:02 Shanghai time, T+1 merchant
    captured = datetime(2026, 11, 20, 14, 2, tzinfo=SHANGHAI)
    [result] = results(acquirer.post("transactions", {"transactions": [
        swipe("RRN1", captured_at=captured.isoformat())]}))
    # then it is due by Monday 18:00 +08:00
    assert result["result"] == "created" and result["error"] is None
    txn = result["transaction"]
    assert txn["status"] == "captured"
    assert txn["expected_by"] == "2026-11-23T18:00:00+08:00"
    assert txn["calendar_incomplete"] is False
    assert (txn["amount"], txn["fee"], txn["net"]) == ("1280.00", "7.68", "1272.32")
    assert txn["terminal_sn"] == "SN900001"
    stored = Transaction.objects.get(reference="RRN1")
    assert stored.events.get().event_id == "captured:RRN1"
    assert stored.events.get().source == "push"


def test_a_year_without_holiday_data_says_calendar_incomplete(acquirer, shop, channel):
    from channels.models import CalendarYear

    CalendarYear.objects.filter(calendar=channel.calendar, year=2026).update(complete=False)
    captured = datetime(2026, 11, 20, 14, 2, tzinfo=SHANGHAI)
    [result] = results(acquirer.post("transactions", {"transactions": [
        swipe("RRN2", terminal_sn=None, captured_at=captured.isoformat())]}))
    assert result["transaction"]["calendar_incomplete"] is True
    assert result["transaction"]["terminal_sn"] is None


def test_the_same_swipe_again_is_a_duplicate_and_a_different_one_a_conflict(acquirer, terminal):
    item = swipe("RRN3")
    assert results(acquirer.post("transactions", {"transactions": [item]}))[0]["result"] == "created"
    again, changed, repeat_in_batch = results(acquirer.post("transactions", {"transactions": [
        item, {**item, "amount": "1.00"}, item]}))
    assert again["result"] == "duplicate"
    assert again["transaction"]["expected_by"].endswith("+08:00")
    assert (changed["result"], changed["error"]["code"]) == ("rejected", "idempotency_conflict")
    assert repeat_in_batch["result"] == "duplicate"
    assert Transaction.objects.filter(reference="RRN3").count() == 1
    assert SettlementEvent.objects.filter(transaction__reference="RRN3").count() == 1


def test_a_repeat_inside_one_batch_is_created_once(acquirer, terminal):
    item = swipe("RRN4")
    first, second = results(acquirer.post("transactions", {"transactions": [item, item]}))
    assert (first["result"], second["result"]) == ("created", "duplicate")
    assert Transaction.objects.filter(reference="RRN4").count() == 1


NOW = "now"


@pytest.mark.parametrize(
    "overrides, code",
    [
        ({"amount": "-5.00"}, "amount_not_positive"),
        ({"amount": "0.00"}, "amount_not_positive"),
        ({"amount": "12.345"}, "invalid_amount"),
        ({"amount": 12.5}, "invalid_amount"),
        ({"amount": "abc"}, "invalid_amount"),
        ({"amount": "100000000.00"}, "amount_too_large"),
        ({"amount": None}, "missing_field"),
        ({"currency": "USD"}, "unsupported_currency"),
        ({"captured_at": "2026-11-20T14:02:00"}, "naive_datetime"),
        ({"captured_at": "yesterday"}, "invalid_datetime"),
        ({"captured_at": 1763600000}, "invalid_datetime"),
        ({"captured_at": "2099-01-01T00:00:00+08:00"}, "captured_in_future"),
        ({"captured_at": "2001-01-01T00:00:00+08:00"}, "captured_too_old"),
        ({"merchant_no": "M404"}, "unknown_merchant"),
        ({"terminal_sn": "SN-NOPE"}, "unknown_terminal"),
        ({"masked_pan": "4111111111111111"}, "full_pan_forbidden"),
        ({"masked_pan": "6222021234"}, "invalid_masked_pan"),
        ({"method": "telepathy"}, "invalid_method"),
        ({"reference": ""}, "missing_field"),
        ({"reference": 12}, "invalid_type"),
        ({"reference": "x" * 65}, "too_long"),
        ({"note": "card 4111 1111 1111 1111"}, "full_pan_forbidden"),
    ],
)
def test_bad_items_get_their_code_and_do_not_block_the_others(acquirer, terminal, overrides, code):
    bad, good = results(acquirer.post("transactions", {"transactions": [
        swipe(**{"reference": "BAD", **overrides}), swipe("GOOD")]}))
    assert (bad["result"], bad["error"]["code"]) == ("rejected", code), bad
    assert good["result"] == "created"
    assert not Transaction.objects.filter(reference="BAD").exists()
    assert Transaction.objects.filter(reference="GOOD").exists()


def test_a_merchant_of_another_channel_is_unknown_here(acquirer, terminal):
    other = MerchantFactory(merchant_no="M-OTHER")
    TerminalFactory(merchant=other, serial_number="SN-OTHER")
    [result] = results(acquirer.post("transactions", {"transactions": [
        swipe("R-X", merchant_no="M-OTHER", terminal_sn="SN-OTHER")]}))
    assert result["error"]["code"] == "unknown_merchant"


def test_a_non_object_item_is_rejected(acquirer, terminal):
    bad, good = results(acquirer.post("transactions", {"transactions": ["nope", swipe("G")]}))
    assert bad["error"]["code"] == "invalid_item" and good["result"] == "created"


def test_get_transaction_shows_what_we_know(acquirer, terminal):
    results(acquirer.post("transactions", {"transactions": [swipe("RRN9")]}))
    response = acquirer.get("transactions/RRN9")
    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == "RRN9" and body["status"] == "captured"
    assert [e["type"] for e in body["events"]] == ["captured"]
    missing = acquirer.get("transactions/NOPE")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_reference"


def test_another_channels_transaction_is_not_found(acquirer, terminal):
    from tests.factories import make_transaction

    other = make_transaction(reference="THEIRS")
    assert other.channel != acquirer.channel
    assert acquirer.get("transactions/THEIRS").status_code == 404


def _batch(n: int, prefix: str) -> dict:
    at = (timezone.now() - timedelta(hours=2)).isoformat()
    return {"transactions": [swipe(f"{prefix}{i}", captured_at=at) for i in range(n)]}


def _statements(acquirer, payload) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = acquirer.post("transactions", payload)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_a_batch_costs_the_same_number_of_statements_whatever_its_size(acquirer, terminal):
    _statements(acquirer, _batch(1, "warm"))  # calendar snapshot cached
    counts = {n: _statements(acquirer, _batch(n, f"b{n}-")) for n in (1, 100, 1000)}
    assert len(set(counts.values())) == 1, counts
    assert Transaction.objects.filter(reference__startswith="b1000-").count() == 1000
    # and a replay of the 1,000 (all duplicates) is constant too
    replay = _statements(acquirer, _batch(1000, "b1000-"))
    assert replay <= counts[1] + 1, (replay, counts)
