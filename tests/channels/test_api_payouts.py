"""PUT merchants, POST payouts (合并到账), POST settlement-files."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from merchants.models import Merchant, Terminal
from settlement.models import (
    FollowUpCase,
    Payout,
    PayoutDiscrepancy,
    PayoutEvent,
    ReconciliationRun,
    SettlementFile,
    Transaction,
)
from settlement.payout_lifecycle import CREDITED_BY_SWIPES_RULE
from tests.channels.conftest import event, swipe
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


# --- the payout door (issue 9, items 2 and 3) -----------------------------------------
def test_a_retried_sent_after_credited_is_stale_and_credited_at_is_kept(acquirer, swipes):
    # given a payout the acquirer reported sent, then credited
    acquirer.post("payouts", payout())
    acquirer.post("payouts", payout(status="credited", credited_at="2026-11-21T15:00:00+08:00"))
    # when the acquirer's retry of the first post arrives
    retry = acquirer.post("payouts", payout())
    # then it is stored as stale and changes nothing
    assert retry.status_code == 200 and retry.json()["status_outcome"] == "stale"
    assert retry.json()["status"] == "credited" and retry.json()["credited_at"] == "2026-11-21T15:00:00+08:00"
    stored = Payout.objects.get()
    assert stored.status == "credited" and stored.credited_at.isoformat() == "2026-11-21T07:00:00+00:00"
    trail = list(PayoutEvent.objects.filter(kind="status").values_list("from_status", "to_status", "outcome"))
    assert trail == [("", "sent", "applied"), ("sent", "credited", "applied"), ("credited", "sent", "stale")]


def test_a_late_older_status_is_stale(acquirer, swipes):
    acquirer.post("payouts", payout(status="returned", occurred_at="2026-11-21T12:00:00+08:00"))
    late = acquirer.post("payouts", payout(status="pending", occurred_at="2026-11-21T08:00:00+08:00")).json()
    assert (late["status_outcome"], late["status"]) == ("stale", "returned")
    again = acquirer.post("payouts", payout(status="sent", sent_at="2026-11-22T09:00:00+08:00")).json()
    assert (again["status_outcome"], again["status"]) == ("applied", "sent")  # sent again after the return
    assert again["sent_at"] == "2026-11-22T09:00:00+08:00"


def test_a_payout_is_credited_when_every_swipe_in_it_is_credited(acquirer, swipes):
    acquirer.post("payouts", payout())
    at = timezone.now() - timedelta(minutes=10)
    acquirer.post("events", {"events": [event("c1", reference="P1", kind="credited", occurred_at=at,
                                              payout_reference="PO-1")]})
    assert Payout.objects.get().status == "sent"  # one of two swipes arrived
    acquirer.post("events", {"events": [event("c2", reference="P2", kind="credited", occurred_at=at + timedelta(
        minutes=1), payout_reference="PO-1")]})
    stored = Payout.objects.get()
    assert stored.status == "credited" and stored.credited_at == at + timedelta(minutes=1)
    system = PayoutEvent.objects.get(kind="status", to_status="credited")
    assert (system.source, system.rule, system.from_status) == ("system", CREDITED_BY_SWIPES_RULE, "sent")
    assert system.occurred_at == at + timedelta(minutes=1)


def test_a_repost_that_drops_a_swipe_unlinks_it_with_a_trail(acquirer, swipes):
    acquirer.post("payouts", payout())
    body = acquirer.post("payouts", payout(amount="99.40", transaction_references=["P1"])).json()
    assert (body["transaction_count"], body["discrepancy_flagged"]) == (1, False)
    assert Transaction.objects.get(reference="P2").payout is None
    dropped = PayoutEvent.objects.get(kind="unlinked")
    assert (dropped.transaction.reference, dropped.reason) == ("P2", "dropped")
    assert PayoutEvent.objects.filter(kind="amended").count() == 1
    # and a post that gives no list leaves the set alone
    acquirer.post("payouts", {k: v for k, v in payout(amount="99.40").items() if k != "transaction_references"})
    assert Transaction.objects.get(reference="P1").payout.reference == "PO-1"


def test_a_stale_swipe_event_never_relinks_a_swipe(acquirer, swipes):
    now = timezone.now()
    acquirer.post("payouts", payout(payout_reference="PO-2", transaction_references=["P1"], amount="99.40"))
    acquirer.post("payouts", payout(payout_reference="PO-9", transaction_references=[], amount="0.00"))
    acquirer.post("events", {"events": [event("s1", reference="P1", kind="settled", occurred_at=now - timedelta(
        minutes=5))]})
    [late] = acquirer.post("events", {"events": [event("s0", reference="P1", kind="cleared", occurred_at=now - timedelta(
        minutes=50), payout_reference="PO-9")]}).json()["results"]
    assert late["result"] == "stale"
    assert Transaction.objects.get(reference="P1").payout.reference == "PO-2"
    assert not PayoutEvent.objects.filter(kind="linked", payout__reference="PO-9").exists()


def test_an_event_naming_a_payout_not_here_yet_links_when_it_arrives(acquirer, swipes):
    acquirer.post("events", {"events": [event("c1", reference="P1", kind="cleared", payout_reference="PO-LATER")]})
    assert Transaction.objects.get(reference="P1").pending_payout_reference == "PO-LATER"
    body = acquirer.post("payouts", {"payout_reference": "PO-LATER", "merchant_no": "M900001", "amount": "99.40",
                                     "status": "sent", "sent_at": timezone.now().isoformat()}).json()
    assert (body["transaction_count"], body["discrepancy_flagged"]) == (1, False)
    linked = Transaction.objects.get(reference="P1")
    assert (linked.payout.reference, linked.pending_payout_reference) == ("PO-LATER", "")
    assert PayoutEvent.objects.get(kind="linked").reason == "waited"


def test_a_discrepancy_is_stored_with_one_case_and_resolved_by_a_later_post(acquirer, swipes):
    # when a payout does not add up
    body = acquirer.post("payouts", payout(amount="300.00")).json()
    # then the difference is a stored fact with one data-error case for staff
    found = PayoutDiscrepancy.objects.get()
    assert (found.amount, found.expected, found.difference, found.resolved_at) == (
        Decimal("300.00"), Decimal("298.20"), Decimal("1.80"), None)
    assert body["discrepancy_found_at"] is not None
    case = FollowUpCase.objects.get(payout__reference="PO-1")
    assert (case.cause, case.origin, case.transaction, case.status) == ("data_error", "system", None, "open")
    assert case.cause_evidence["payout"]["sum_of_nets"] == "298.20"
    # a retry and another wrong amount update the same row and case, never a second one
    acquirer.post("payouts", payout(amount="300.00"))
    acquirer.post("payouts", payout(amount="301.00"))
    assert PayoutDiscrepancy.objects.get().difference == Decimal("2.80")
    assert FollowUpCase.objects.filter(payout__reference="PO-1").count() == 1
    # when a later post makes the sums agree, it is resolved and the case says so
    fixed = acquirer.post("payouts", payout()).json()
    assert fixed["discrepancy_flagged"] is False and fixed["discrepancy_found_at"] is None
    assert PayoutDiscrepancy.objects.get().resolved_at is not None
    assert case.entries.filter(kind="note").count() == 1


def test_a_swipe_of_a_returned_payout_moves_to_its_repayment(acquirer, swipes):
    acquirer.post("payouts", payout())
    acquirer.post("payouts", payout(status="returned"))
    repaid = acquirer.post("payouts", payout(payout_reference="PO-1-R", sent_at=timezone.now().isoformat())).json()
    assert repaid["rejected"] == [] and repaid["transaction_count"] == 2
    moved = PayoutEvent.objects.filter(kind="unlinked", payout__reference="PO-1")
    assert set(moved.values_list("reason", flat=True)) == {"moved"} and moved.count() == 2
    assert not PayoutDiscrepancy.objects.exists()  # a returned payout is not checked


def test_a_payout_in_the_future_is_refused(acquirer, swipes):
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    response = acquirer.post("payouts", payout(sent_at=later))
    assert response.status_code == 422 and response.json()["error"]["code"] == "occurred_in_future"
    assert not Payout.objects.exists()


# --- payout lines (issue 12, item 4) ---------------------------------------------------
LINES = [{"kind": "swipes", "amount": "300.00"}, {"kind": "fee", "amount": "-1.80"},
         {"kind": "refund", "amount": "-5.00", "label": "退货 return of P1"},
         {"kind": "reserve", "amount": "-10.00", "release_date": "2026-12-20"}]


def test_lines_explain_a_credit_that_is_not_the_sum_of_its_swipes(acquirer, swipes):
    body = acquirer.post("payouts", payout(amount="283.20", lines=LINES)).json()
    assert (body["lines_total"], body["discrepancy"], body["discrepancy_flagged"]) == ("-15.00", "0.00", False)
    assert not PayoutDiscrepancy.objects.exists()
    stored = Payout.objects.get()
    assert list(stored.lines.values_list("kind", "amount")) == [
        ("swipes", Decimal("300.00")), ("fee", Decimal("-1.80")), ("refund", Decimal("-5.00")),
        ("reserve", Decimal("-10.00"))]
    # a post without lines keeps them; an empty list removes them (and the sums no longer agree)
    acquirer.post("payouts", payout(amount="283.20"))
    assert stored.lines.count() == 4
    acquirer.post("payouts", payout(amount="283.20", lines=[]))
    assert stored.lines.count() == 0 and PayoutDiscrepancy.objects.get().difference == Decimal("-15.00")


def test_the_discrepancy_is_only_what_the_lines_do_not_explain(acquirer, swipes):
    body = acquirer.post("payouts", payout(amount="282.20", lines=LINES)).json()
    assert (body["discrepancy"], body["discrepancy_flagged"]) == ("-1.00", True)
    found = PayoutDiscrepancy.objects.get()
    assert (found.expected, found.explained, found.difference) == (
        Decimal("283.20"), Decimal("-15.00"), Decimal("-1.00"))


@pytest.mark.parametrize("line", [
    {"kind": "refund", "amount": "5.00"},  # a refund is a deduction
    {"kind": "adjustment", "amount": "1.00"},  # needs a label
    {"kind": "fee", "amount": "-1.00", "release_date": "2026-12-01"},  # only a reserve is released
    {"kind": "bonus", "amount": "1.00"},
])
def test_bad_lines_are_refused_and_nothing_is_stored(acquirer, swipes, line):
    response = acquirer.post("payouts", payout(lines=[line]))
    assert response.status_code in (400, 422), response.content
    assert response.json()["error"]["code"] in ("invalid_line", "invalid")
    assert not Payout.objects.exists()


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
