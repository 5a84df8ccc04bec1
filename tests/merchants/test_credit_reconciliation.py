"""对账状态 on the bank-credit page, and the statement against the reconciliation runs."""

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext

from merchants.reconciliation import credit_reconciliation
from merchants.statement import statement_for
from settlement.models import Payout, ReconciliationResult, ReconciliationRun, Transaction
from settlement.services.reconciliation import settlement_file_receive
from tests.factories import make_transaction

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 3)


def _credit(merchant, n: int, reference: str = "PO-RC") -> tuple[Payout, list[Transaction]]:
    swipes = [make_transaction(merchant=merchant, amount=f"{100 + i}.00", reference=f"{reference}-{i}",
                               captured_at=datetime.combine(DAY, time(10, i), tzinfo=SH)) for i in range(n)]
    payout = Payout.objects.create(channel=merchant.channel, reference=reference, merchant=merchant,
                                   amount=sum(t.net for t in swipes), status="credited",
                                   credited_at=datetime(2026, 11, 4, 15, tzinfo=SH))
    Transaction.objects.filter(pk__in=[t.pk for t in swipes]).update(payout=payout)
    return payout, swipes


def _file(merchant, lines: list[tuple[str, Decimal]], day: date = DAY) -> None:
    raw = "reference,amount\n" + "".join(f"{r},{a}\n" for r, a in lines)
    settlement_file_receive(channel=merchant.channel, raw=raw.encode(), business_date=day, source="api")


def _page(client, payout) -> str:
    return client.get(f"/m/arrivals/{payout.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_not_yet_then_difference_in_plain_words_then_reconciled(client, merchant_user, merchant):
    payout, swipes = _credit(merchant, 2)
    client.force_login(merchant_user)
    assert "Not reconciled yet" in _page(client, payout) and "for 2 swipes in this credit has not come" in _page(
        client, payout)
    # The acquirer's file lists the first swipe 0.01 high and leaves the second out.
    _file(merchant, [(swipes[0].reference, swipes[0].amount + Decimal("0.01"))])
    body = _page(client, payout)
    assert "Reconciliation status" in body and "<strong class=\"bad\">Differences found</strong>" in body
    assert "1 swipe has a different amount in the acquirer's file." in body
    assert "1 swipe is missing from the acquirer's file." in body
    # theirs - ours: +0.01 on the first, -101.00 (missing) on the second
    assert "The acquirer's figures are ¥100.99 less than ours." in body
    # A corrected file: every swipe agrees.
    _file(merchant, [(t.reference, t.amount) for t in swipes])
    body = _page(client, payout)
    assert "<strong>Reconciled</strong>" in body and "agrees with the acquirer" in body


def test_the_stored_payout_discrepancy_is_a_difference_too(client, merchant_user, merchant):
    payout, swipes = _credit(merchant, 1)
    _file(merchant, [(swipes[0].reference, swipes[0].amount)])
    discrepancy = payout.discrepancies.create(amount=payout.amount, expected=payout.amount - Decimal("2.00"),
                                              difference=Decimal("2.00"), found_at=payout.credited_at,
                                              updated_at=payout.credited_at)
    recon = credit_reconciliation(payout, discrepancy=discrepancy)
    assert recon.state == "differences" and recon.open_breaks == 0
    client.force_login(merchant_user)
    assert "differs from its swipes by ¥2.00" in _page(client, payout)
    assert credit_reconciliation(payout, discrepancy=None).state == "reconciled"


def test_the_status_is_one_query_whatever_the_number_of_swipes(client, merchant_user, merchant,
                                                                django_assert_num_queries):
    small, few = _credit(merchant, 1, "PO-S")
    big, many = _credit(merchant, 8, "PO-B")
    _file(merchant, [(t.reference, t.amount + Decimal("0.01")) for t in few + many[:5]])
    with django_assert_num_queries(1):
        assert credit_reconciliation(big, discrepancy=None).amount_breaks == 5
    client.force_login(merchant_user)
    client.get(f"/m/arrivals/{small.pk}/")  # warm the session and per-request caches
    counts = []
    for payout in (small, big):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/m/arrivals/{payout.pk}/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_a_swipe_of_another_merchant_wrongly_linked_does_not_count(merchant):
    payout, swipes = _credit(merchant, 1)
    stray = make_transaction(reference="STRAY", amount="5.00", captured_at=datetime.combine(DAY, time(9), tzinfo=SH))
    Transaction.objects.filter(pk=stray.pk).update(payout=payout)
    _file(merchant, [(swipes[0].reference, swipes[0].amount)])
    assert credit_reconciliation(payout, discrepancy=None).swipes == 1


def test_the_statement_matches_the_runs_of_the_month_to_the_fen(merchant):
    days = [date(2026, 11, d) for d in (2, 9, 30)]
    swipes = [make_transaction(merchant=merchant, amount=f"{37 + i}.{i}3", reference=f"SM{i}",
                               captured_at=datetime.combine(days[i % 3], time(11, i), tzinfo=SH)) for i in range(9)]
    for day in days:
        _file(merchant, [(t.reference, t.amount) for t in swipes if t.business_date == day], day)
    summary = statement_for(merchant, date(2026, 11, 1))
    runs = ReconciliationRun.objects.filter(channel=merchant.channel, business_date__month=11, file__is_current=True)
    assert runs.count() == 3 and summary.state == "reconciled" and summary.reconciled_days == 3
    assert sum(r.our_total for r in runs) == summary.gross == sum(r.file_total for r in runs)
    assert sum(Decimal(r.totals["matched"]["ours"]) for r in runs) == summary.gross
    assert sum(r.totals["matched"]["count"] for r in runs) == summary.swipes == 9
    results = ReconciliationResult.objects.filter(run__in=runs).aggregate(fee=Sum("our_fee"), amount=Sum("our_amount"))
    assert (results["amount"], results["fee"]) == (summary.gross, summary.fees)
    assert summary.net == summary.gross - summary.fees
