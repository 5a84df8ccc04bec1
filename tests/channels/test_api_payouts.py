"""PUT merchants, POST payouts (合并到账), POST settlement-files."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from merchants.models import Merchant, Terminal
from settlement.models import Payout, ReconciliationRun, SettlementFile, Transaction
from tests.channels.conftest import swipe
from tests.factories import MerchantFactory, make_transaction

pytestmark = pytest.mark.django_db

MERCHANT = {
    "name": "老王便利店", "settlement_cycle": "T1", "account_bank": "招商银行", "account_holder": "王小明",
    "account_last4": "6021", "fee_rate_bps": 60, "contact_email": "wang@example.com",
    "contact_phone": "13800000000", "terminals": ["SN1", "SN2"],
}


def test_put_creates_then_updates_a_merchant_with_its_terminals(acquirer, channel):
    created = acquirer.put("merchants/M777", MERCHANT)
    assert created.status_code == 201, created.content
    assert created.json()["result"] == "created" and created.json()["terminals"] == ["SN1", "SN2"]
    updated = acquirer.put("merchants/M777", {**MERCHANT, "name": "老王超市", "terminals": ["SN2", "SN3"]})
    assert updated.status_code == 200 and updated.json()["result"] == "updated"
    merchant = Merchant.objects.get(merchant_no="M777")
    assert merchant.name == "老王超市" and merchant.channel == channel
    assert dict(Terminal.objects.filter(merchant=merchant).values_list("serial_number", "active")) == {
        "SN1": False, "SN2": True, "SN3": True}
    assert acquirer.put("merchants/M777", MERCHANT).status_code == 200  # idempotent


def test_put_refuses_another_channels_merchant(acquirer):
    MerchantFactory(merchant_no="M-THEIRS")
    response = acquirer.put("merchants/M-THEIRS", MERCHANT)
    assert response.status_code == 409 and response.json()["error"]["code"] == "merchant_other_channel"
    assert Merchant.objects.get(merchant_no="M-THEIRS").name != MERCHANT["name"]


@pytest.mark.parametrize(
    "change", [{"settlement_cycle": "T9"}, {"account_last4": "62220212"}, {"fee_rate_bps": -1}, {"name": ""},
               {"terminals": "SN1"}, {"contact_email": "nope"}],
)
def test_put_validates_its_fields(acquirer, change):
    response = acquirer.put("merchants/M778", {**MERCHANT, **change})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"
    assert not Merchant.objects.filter(merchant_no="M778").exists()


def test_put_with_a_card_number_is_refused_whole(acquirer):
    response = acquirer.put("merchants/M779", {**MERCHANT, "account_holder": "4111 1111 1111 1111"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "full_pan_forbidden"
    assert not Merchant.objects.filter(merchant_no="M779").exists()


@pytest.fixture
def swipes(acquirer, terminal):
    at = (timezone.now() - timedelta(days=1)).isoformat()
    acquirer.post("transactions", {"transactions": [
        swipe("P1", amount="100.00", captured_at=at), swipe("P2", amount="200.00", captured_at=at)]})
    return Transaction.objects.filter(reference__in=["P1", "P2"])


def payout(**overrides):
    body = {"payout_reference": "PO-1", "merchant_no": "M900001", "amount": "298.20",
            "transaction_references": ["P1", "P2"], "status": "sent",
            "sent_at": "2026-11-21T09:00:00+08:00"}
    body.update(overrides)
    return body


def test_a_payout_that_adds_up_links_its_transactions(acquirer, swipes):
    response = acquirer.post("payouts", payout())
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["net_total"], body["discrepancy"], body["discrepancy_flagged"]) == ("298.20", "0.00", False)
    assert body["transaction_count"] == 2 and body["rejected"] == []
    assert body["sent_at"] == "2026-11-21T09:00:00+08:00"
    assert set(Transaction.objects.filter(payout__reference="PO-1").values_list("reference", flat=True)) == {
        "P1", "P2"}
    assert set(Transaction.objects.values_list("status", flat=True)) == {"captured"}  # no status moved
    again = acquirer.post("payouts", payout(status="credited", credited_at="2026-11-21T15:00:00+08:00"))
    assert again.status_code == 200 and again.json()["result"] == "updated"
    assert Payout.objects.get().status == "credited"


def test_a_payout_that_does_not_add_up_is_flagged_not_hidden(acquirer, swipes, caplog):
    body = acquirer.post("payouts", payout(amount="300.00")).json()
    assert (body["discrepancy"], body["discrepancy_flagged"]) == ("1.80", True)
    assert Payout.objects.get().amount == Decimal("300.00")
    assert "payout discrepancy" in caplog.text


def test_a_payout_rejects_what_it_cannot_cover(acquirer, swipes, channel):
    stranger = MerchantFactory(channel=channel)
    make_transaction(merchant=stranger, reference="P-STRANGER")
    body = acquirer.post("payouts", payout(transaction_references=["P1", "P-STRANGER", "P-NONE"])).json()
    assert {r["reference"]: r["code"] for r in body["rejected"]} == {
        "P-STRANGER": "merchant_mismatch", "P-NONE": "unknown_reference"}
    assert body["transaction_count"] == 1 and body["discrepancy_flagged"] is True
    other = acquirer.post("payouts", payout(payout_reference="PO-2", transaction_references=["P1"])).json()
    assert other["rejected"][0]["code"] == "linked_to_other_payout"


@pytest.mark.parametrize("change, code, http", [
    ({"merchant_no": "M404"}, "unknown_merchant", 422),
    ({"amount": "-1.00"}, "invalid", 400),
    ({"sent_at": "2026-11-21T09:00:00"}, "invalid", 400),
    ({"status": "lost"}, "invalid", 400),
])
def test_bad_payouts_get_their_code(acquirer, swipes, change, code, http):
    response = acquirer.post("payouts", payout(**change))
    assert response.status_code == http and response.json()["error"]["code"] == code
    assert not Payout.objects.exists()


def test_a_settlement_file_is_stored_and_reconciled_in_a_run(acquirer, swipes):
    # Issue 12: the answer is now a stored run with the result kinds of reconciliation
    # (a line we cannot read refuses the whole file instead of one "rejected" line).
    day = swipes.first().business_date.isoformat()
    csv = (
        "reference,amount,fee,net,status\n"
        "P1,100.00,0.60,99.40,captured\n"
        "P2,200.00,1.20,198.80,settled\n"
        "P404,5.00,,,\n"
        "P1,100.00,0.60,99.40,captured\n"
    )
    response = acquirer.post(f"settlement-files?business_date={day}", raw=csv.encode(), content_type="text/csv")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["duplicate"] is False and body["business_date"] == day and body["lines"] == 4
    assert {k: v["count"] for k, v in body["totals"].items() if v["count"]} == {
        "matched": 1, "status_mismatch": 1, "unknown_to_us": 1, "duplicate_in_file": 1}
    assert (body["file_total"], body["our_total"]) == ("405.00", "300.00")
    by_line = {r["line"]: r for r in body["results"]}
    assert by_line[3]["differences"] == {"status": {"ours": "captured", "theirs": "settled"}}
    assert by_line[5]["result"] == "duplicate_in_file"
    assert ReconciliationRun.objects.get().pk == body["run"]

    again = acquirer.post(f"settlement-files?business_date={day}", raw=csv.encode(), content_type="text/csv")
    assert again.json()["duplicate"] is True and again.json()["run"] == body["run"]
    assert ReconciliationRun.objects.count() == 1


def test_an_unreadable_line_refuses_the_file_naming_the_line(acquirer, swipes):
    response = acquirer.post("settlement-files", raw=b"reference,amount\nP1,100.00\nP1,abc\n",
                             content_type="text/csv")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_settlement_file"
    assert "Line 3" in response.json()["error"]["message"]
    assert not SettlementFile.objects.exists() and not ReconciliationRun.objects.exists()


def test_a_bad_business_date_is_refused(acquirer, swipes):
    response = acquirer.post("settlement-files?business_date=2026-13-01", raw=b"reference,amount\nP1,1.00\n",
                             content_type="text/csv")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_business_date"


@pytest.mark.parametrize("raw, code, http", [
    (b"ref,amt\nP1,1.00\n", "invalid_settlement_file", 400),
    (("reference,amount\n" + "P1,1.00\n" * 1001).encode(), "batch_too_large", 413),
])
def test_bad_settlement_files_get_their_code(acquirer, swipes, raw, code, http):
    response = acquirer.post("settlement-files", raw=raw, content_type="text/csv")
    assert response.status_code == http and response.json()["error"]["code"] == code


def test_a_body_that_is_not_utf8_cannot_be_signed_and_is_refused(acquirer, swipes, client):
    response = client.post(acquirer.url("settlement-files"), data=b"\xff\xfe\x00garbage", content_type="text/csv",
                           headers={"webhook-id": "m", "webhook-timestamp": str(int(timezone.now().timestamp())),
                                    "webhook-signature": "v1,AAAA"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_signature"


def test_a_settlement_file_must_be_csv(acquirer, swipes):
    response = acquirer.post("settlement-files", {"reference": "P1"})
    assert response.status_code == 415 and response.json()["error"]["code"] == "unsupported_media_type"
