"""Hypothesis fuzz of the acquirer endpoints with valid signatures: never a 500.

The Django test client re-raises any exception a view lets escape, so an unhandled
error fails here even before it would have become a 500.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.models import MASKED_PAN_REGEX
from tests.channels.conftest import Acquirer

pytestmark = pytest.mark.django_db

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["", "CNY", "USD", "1280.00", "-1", "0", "1e9", "99999999999999.99", "M900001", "SN900001",
                     "R1", "cleared", "settled", "credited", "held", "released", "returned", "reversed", "refunded",
                     "2026-11-21T10:00:00+08:00", "2026-11-21T10:00:00", "2026-02-30T10:00:00Z", "9999-12-31T23:59:59Z",
                     "0001-01-01T00:00:00+14:00", "4111111111111111", "622202******1234", "chip", "qr"]),
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=10), inner, max_size=4), max_leaves=12)

TXN_KEYS = ["reference", "merchant_no", "terminal_sn", "amount", "currency", "masked_pan", "method", "captured_at"]
EVENT_KEYS = ["event_id", "reference", "type", "occurred_at", "payout_reference", "reason"]
PAYOUT_KEYS = ["payout_reference", "merchant_no", "amount", "transaction_references", "status", "sent_at",
               "credited_at", "currency"]
MERCHANT_KEYS = ["name", "settlement_cycle", "account_bank", "account_holder", "account_last4", "fee_rate_bps",
                 "contact_email", "contact_phone", "terminals"]


def objects(keys):
    return st.dictionaries(st.sampled_from(keys), json_values, max_size=len(keys))


def assert_no_500(response):
    assert response.status_code < 500, response.content
    body = response.json()
    if response.status_code >= 400:
        assert set(body) == {"error"} and body["error"]["code"]


@pytest.fixture
def fuzz_acquirer(client, terminal, channel):
    return Acquirer(client, channel)


@FUZZ
@given(items=st.lists(objects(TXN_KEYS) | json_values, max_size=5))
def test_transactions_never_500(fuzz_acquirer, items):
    response = fuzz_acquirer.post("transactions", {"transactions": items})
    assert_no_500(response)
    if response.status_code == 200:
        assert len(response.json()["results"]) == len(items)


@FUZZ
@given(items=st.lists(objects(EVENT_KEYS) | json_values, max_size=5))
def test_events_never_500(fuzz_acquirer, items):
    response = fuzz_acquirer.post("events", {"events": items})
    assert_no_500(response)


@FUZZ
@given(body=objects(PAYOUT_KEYS) | json_values)
def test_payouts_never_500(fuzz_acquirer, body):
    assert_no_500(fuzz_acquirer.post("payouts", body))


@FUZZ
@given(body=objects(MERCHANT_KEYS) | json_values, merchant_no=st.text(min_size=1, max_size=40).filter(
    lambda t: "/" not in t and "?" not in t and "#" not in t and "%" not in t))
def test_merchant_put_never_500(fuzz_acquirer, body, merchant_no):
    from urllib.parse import quote

    assert_no_500(fuzz_acquirer.put(f"merchants/{quote(merchant_no)}", body))


@FUZZ
@given(text=st.text(max_size=300))
def test_settlement_files_never_500(fuzz_acquirer, text):
    assert_no_500(fuzz_acquirer.post("settlement-files", raw=text.encode(), content_type="text/csv"))


@FUZZ
@given(raw=st.binary(max_size=200).filter(lambda b: _utf8(b)))
def test_raw_bytes_never_500(fuzz_acquirer, raw):
    assert_no_500(fuzz_acquirer.post("transactions", raw=raw))


def _utf8(raw: bytes) -> bool:
    try:
        raw.decode()
    except UnicodeDecodeError:
        return False
    return True


def test_full_valid_shapes_with_a_pan_mask_are_accepted(fuzz_acquirer):
    assert MASKED_PAN_REGEX  # the fuzz above also hits valid items; this one pins the happy path
    body = json.dumps({"transactions": [{"reference": "F1", "merchant_no": "M900001", "amount": "1.00",
                                         "captured_at": "2026-11-21T10:00:00+08:00"}]})
    response = fuzz_acquirer.post("transactions", raw=body.encode())
    assert response.json()["results"][0]["result"] in ("created", "rejected")


@pytest.mark.parametrize("path", ["transactions/a%00b", "merchants/M%00", "events"])
def test_nul_characters_are_refused_not_crashed_on(fuzz_acquirer, path):
    payload = {"events": [{"event_id": "e\u0000", "reference": "R\u0000", "type": "cleared",
                           "occurred_at": "2026-11-21T10:00:00+08:00"}]}
    method = {"transactions/a%00b": "GET", "merchants/M%00": "PUT", "events": "POST"}[path]
    response = fuzz_acquirer.request(method, path, payload if method != "GET" else None)
    assert_no_500(response)


def test_nul_in_a_transaction_item_is_rejected(fuzz_acquirer):
    body = {"transactions": [{"reference": "R\u0000", "merchant_no": "M900001", "amount": "1.00",
                              "captured_at": "2026-11-21T10:00:00+08:00"}]}
    [result] = fuzz_acquirer.post("transactions", body).json()["results"]
    assert result["error"]["code"] == "invalid_characters"


def test_nul_in_the_channel_code_is_refused(client, terminal):
    ghost = Acquirer(client, type("C", (), {"code": "acq%00test"})())
    response = ghost.post("transactions", {"transactions": []})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unknown_channel"


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                                    "0001-01-01T00:00:00Z", "2026-11-21T10:00:00+23:59"])
def test_extreme_datetimes_are_refused_not_crashed_on(fuzz_acquirer, moment):
    txn = fuzz_acquirer.post("transactions", {"transactions": [{"reference": "X", "merchant_no": "M900001",
                                                                "amount": "1.00", "captured_at": moment}]})
    assert_no_500(txn)
    assert txn.json()["results"][0]["result"] in ("created", "rejected")
    ev = fuzz_acquirer.post("events", {"events": [{"event_id": "x", "reference": "X", "type": "cleared",
                                                   "occurred_at": moment}]})
    assert_no_500(ev)
    po = fuzz_acquirer.post("payouts", {"payout_reference": "P", "merchant_no": "M900001", "amount": "1.00",
                                        "status": "sent", "sent_at": moment})
    assert_no_500(po)
