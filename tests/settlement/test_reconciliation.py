"""Reconciliation runs: stored files, result kinds, totals, duplicates and supersession."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from settlement.models import ReconciliationResult, ReconciliationRun, SettlementFile, Transaction
from settlement.services.reconciliation import SettlementFileError, settlement_file_receive
from tests.factories import MerchantFactory, TerminalFactory, make_transaction, push

pytestmark = pytest.mark.django_db

HEADER = "reference,merchant_no,terminal_sn,amount,fee,status,captured_at\n"


@pytest.fixture
def shop():
    merchant = MerchantFactory(merchant_no="M100", fee_rate_bps=60)
    return merchant, TerminalFactory(merchant=merchant, serial_number="T-1")


@pytest.fixture
def day_swipes(shop):
    merchant, terminal = shop
    at = timezone.now().replace(microsecond=0) - timedelta(days=1)
    swipes = [make_transaction(merchant=merchant, terminal=terminal, amount=f"{100 + i}.00", reference=f"R{i}",
                               captured_at=at + timedelta(minutes=i)) for i in range(6)]
    assert len({s.business_date for s in swipes}) == 1
    return swipes


def line(txn, *, reference=None, amount=None, fee=None, status="", captured_at=None) -> str:
    return ",".join([
        txn.reference if reference is None else reference, txn.merchant.merchant_no, "T-1",
        str(amount or txn.amount), str(txn.fee if fee is None else fee), status,
        (captured_at or txn.captured_at).isoformat(),
    ]) + "\n"


def receive(channel, text: str, day, **kw):
    raw = text if isinstance(text, bytes) else text.encode()
    return settlement_file_receive(channel=channel, raw=raw, business_date=day, source="api", **kw)


def kinds(run) -> dict[str, int]:
    return {k: v["count"] for k, v in run.totals.items() if v["count"]}


def test_every_result_kind_and_the_totals_tie_out(day_swipes):
    s = day_swipes
    push(s[3], "cleared")
    push(s[3], "held", reason="risk")
    channel, day = s[0].channel, s[0].business_date
    text = HEADER + "".join([
        line(s[0]),
        line(s[1], amount=s[1].amount + Decimal("0.01")),
        line(s[2], fee=s[2].fee + Decimal("0.05")),
        line(s[3], status="settled"),
        # s[4] is not in the file
        "X-UNKNOWN,M100,T-1,9.99,0.06,,\n",
        line(s[0]),  # the same reference again
        line(s[5], reference=""),  # no reference: matched by merchant, terminal, amount and time
    ])
    run = receive(channel, text, day).run
    assert kinds(run) == {"matched": 2, "amount_mismatch": 1, "fee_mismatch": 1, "status_mismatch": 1,
                          "missing_in_file": 1, "unknown_to_us": 1, "duplicate_in_file": 1}
    results = {r.kind: r for r in run.results.all()}
    assert results["missing_in_file"].transaction == s[4] and results["missing_in_file"].line is None
    assert run.results.get(line=8).fuzzy and run.results.get(line=8).transaction == s[5]
    assert run.fuzzy_matches == 1
    assert (results["status_mismatch"].file_status, results["status_mismatch"].our_status) == ("settled", "held")
    # Totals: all line money is the file's total; all our money is our swipes of the day.
    file_sum = sum(Decimal(v["file"]) for v in run.totals.values())
    assert file_sum == run.file_total == run.results.aggregate(t=Sum("file_amount"))["t"]
    assert run.file_total == sum(s[i].amount for i in (0, 1, 2, 3, 0, 5)) + Decimal("0.01") + Decimal("9.99")
    ours = Transaction.objects.filter(channel=channel, business_date=day).aggregate(t=Sum("amount"))["t"]
    assert run.our_total == ours == sum(Decimal(v["ours"]) for v in run.totals.values())


def test_a_fuzzy_line_outside_the_tolerance_is_unknown(day_swipes, settings):
    settings.RECON_FUZZY_TOLERANCE_SECONDS = 60
    s = day_swipes[0]
    text = HEADER + line(s, reference="", captured_at=s.captured_at + timedelta(seconds=61))
    run = receive(s.channel, text, s.business_date).run
    assert kinds(run) == {"unknown_to_us": 1, "missing_in_file": 6}


def test_the_same_bytes_again_are_a_duplicate_and_a_new_file_supersedes(day_swipes):
    s = day_swipes
    channel, day = s[0].channel, s[0].business_date
    first = receive(channel, HEADER + line(s[0]), day)
    again = receive(channel, HEADER + line(s[0]), day)
    assert again.duplicate and again.run == first.run and ReconciliationRun.objects.count() == 1
    corrected = receive(channel, HEADER + "".join(line(t) for t in s), day)
    assert not corrected.duplicate and corrected.file.supersedes == first.file
    assert kinds(corrected.run) == {"matched": 6}
    assert list(SettlementFile.objects.filter(is_current=True)) == [corrected.file]
    first.file.refresh_from_db()
    assert first.file.superseded_by == corrected.file and not first.file.is_current


def test_the_same_file_in_utf8_bom_and_gb18030_gives_the_same_run(day_swipes):
    s = day_swipes
    text = "交易参考号,商户号,终端号,交易金额,手续费,备注\n" + "".join(
        f"{t.reference},M100,T-1,{t.amount},{t.fee},刷卡€\n" for t in s[:4])
    runs = []
    for i, (raw, encoding) in enumerate([(text.encode(), "utf-8"), (b"\xef\xbb\xbf" + text.encode(), "utf-8-sig"),
                                         (text.encode("gb18030"), "gb18030")]):
        receipt = receive(s[0].channel, raw, s[0].business_date - timedelta(days=i))
        assert receipt.file.encoding == encoding
        runs.append(receipt.run)
    assert len({(r.line_count, str(r.file_total)) for r in runs}) == 1
    assert [r.totals["matched"]["count"] for r in runs] == [4, 4, 4]
    gbk = receive(s[0].channel, text.replace("€", "").encode("gbk"), s[0].business_date - timedelta(days=5))
    assert gbk.file.encoding == "gbk" and gbk.run.totals["matched"]["count"] == 4


@pytest.mark.parametrize("raw, code, where", [
    (b"reference,amount\nR1,1.00\nR2,1.001\n", "invalid_settlement_file", "Line 3"),
    (b"reference,amount,status\nR1,1.00,lost\n", "invalid_settlement_file", "Line 2"),
    (b"reference,amount\nR1,1.00\n4111111111111111,1.00\n", "full_pan_forbidden", "Line 3"),
    (b"ref,amt\nR1,1.00\n", "invalid_settlement_file", "header"),
    (b"reference,amount\n\xff\xfe\xfa\n", "invalid_encoding", "UTF-8"),
    (b"PK\x03\x04 not really a workbook", "invalid_settlement_file", "XLSX"),
])
def test_a_malformed_file_is_refused_whole_naming_the_line(day_swipes, raw, code, where):
    with pytest.raises(SettlementFileError) as error:
        receive(day_swipes[0].channel, raw, day_swipes[0].business_date)
    assert error.value.code == code and where in error.value.message
    assert "4111111111111111" not in error.value.message
    assert not SettlementFile.objects.exists() and not ReconciliationResult.objects.exists()


def test_matching_is_set_based_the_query_count_does_not_grow_with_the_file(shop):
    merchant, terminal = shop
    at = timezone.now() - timedelta(days=1)

    def run_with(n: int, day_offset: int) -> int:
        when = at - timedelta(days=day_offset)
        swipes = [make_transaction(merchant=merchant, terminal=terminal, captured_at=when + timedelta(seconds=i))
                  for i in range(n)]
        text = HEADER + "".join(line(t) for t in swipes[1:]) + "NOPE,M100,T-1,1.00,,,\n"
        with CaptureQueriesContext(connection) as queries:
            run = receive(merchant.channel, text, swipes[0].business_date).run
        assert kinds(run) == {"matched": n - 1, "missing_in_file": 1, "unknown_to_us": 1}
        return len(queries)

    assert run_with(3, 10) == run_with(60, 20)


def test_text_that_copy_would_misread_arrives_intact(day_swipes):
    s = day_swipes[0]
    run = receive(s.channel, 'reference,amount\n"A\\B\tC",1.00\n\\N,2.00\n', s.business_date).run
    assert set(run.results.filter(kind="unknown_to_us").values_list("reference", flat=True)) == {"A\\B\tC", "\\N"}


@pytest.mark.parametrize("card", ["4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111",
                                  "４１１１１１１１１１１１１１１１"])
def test_a_card_number_in_any_spelling_refuses_the_file(day_swipes, card):
    with pytest.raises(SettlementFileError) as error:
        receive(day_swipes[0].channel, f"reference,amount,note\nR1,1.00,{card}\n", day_swipes[0].business_date)
    assert error.value.code == "full_pan_forbidden" and "Line 2" in error.value.message
