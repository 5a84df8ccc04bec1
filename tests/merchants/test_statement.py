"""The merchant's monthly statement (对账单): its figures are the operator's, to the fen."""

import csv
import io
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Sum

from merchants.statement import statement_for
from settlement.models import Payout, Transaction
from settlement.services.reconciliation import settlement_file_receive
from tests.factories import make_transaction

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")
MONTH = date(2026, 11, 1)


@pytest.fixture
def month_swipes(merchant):
    swipes = [make_transaction(merchant=merchant, amount=f"{80 + i}.{i}5", reference=f"ST{i}",
                               captured_at=datetime.combine(date(2026, 11, 3 + i), time(10), tzinfo=SH))
              for i in range(4)]
    make_transaction(merchant=merchant, reference="ST-OCT", captured_at=datetime(2026, 10, 31, 10, tzinfo=SH))
    payout = Payout.objects.create(channel=merchant.channel, reference="PO-ST", merchant=merchant,
                                   amount=sum(t.net for t in swipes[:2]), status="credited",
                                   credited_at=datetime(2026, 11, 6, 15, tzinfo=SH))
    Transaction.objects.filter(pk__in=[t.pk for t in swipes[:2]]).update(payout=payout)
    return swipes


def test_the_statement_is_the_operators_numbers(merchant, month_swipes):
    summary = statement_for(merchant, MONTH)
    ours = Transaction.objects.filter(merchant=merchant, business_date__month=11).aggregate(
        g=Sum("amount"), f=Sum("fee"), n=Sum("net"))
    assert (summary.swipes, summary.gross, summary.fees, summary.net) == (4, ours["g"], ours["f"], ours["n"])
    assert (summary.credits, summary.credited) == (1, month_swipes[0].net + month_swipes[1].net)
    assert summary.state == "not_yet"


def test_the_page_and_the_csv_agree_and_show_the_reconciliation_state(client, merchant_user, merchant,
                                                                       month_swipes):
    t = month_swipes[0]
    # The acquirer's file for the first day lists our swipe 0.01 off: a difference.
    settlement_file_receive(channel=merchant.channel, raw=f"reference,amount\n{t.reference},{t.amount + Decimal('0.01')}\n"
                            .encode(), business_date=t.business_date, source="api")
    client.force_login(merchant_user)
    html = client.get("/m/statement/?month=2026-11", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Differences found" in html and "ST-OCT" not in html and "ST3" in html
    summary = statement_for(merchant, MONTH)
    assert f"{summary.gross:,.2f}" in html

    body = b"".join(client.get("/m/statement/?month=2026-11&format=csv").streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    lines = [r for r in rows if len(r) == 8 and r[1].startswith("ST")]
    assert sum(Decimal(r[3]) for r in lines) == summary.gross and sum(Decimal(r[4]) for r in lines) == summary.fees
    assert rows[4][1] == f"{summary.net:.2f}"  # the totals block: swipes, amount, fee, net, ...

    settlement_file_receive(channel=merchant.channel, raw=f"reference,amount\n{t.reference},{t.amount}\n".encode(),
                            business_date=t.business_date, source="api")
    assert "Reconciled" in client.get("/m/statement/?month=2026-11", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_merchants_see_only_their_own_statement(client, outsider, merchant, month_swipes):
    client.force_login(outsider)
    html = client.get("/m/statement/?month=2026-11").content.decode()
    assert "ST0" not in html and "PO-ST" not in html


def test_a_bad_month_falls_back_to_this_month(client, merchant_user, merchant):
    client.force_login(merchant_user)
    assert client.get("/m/statement/?month=2026-13").status_code == 200


@pytest.mark.parametrize("text", ["=1+2", "+3", "-4", "@SUM(A1:A9)", "\tx", "\r=cmd"])
def test_statement_cells_a_spreadsheet_would_evaluate_are_inert(client, merchant_user, merchant, text):
    """An acquirer's swipe and payout references land in the statement CSV as text."""
    swiped = make_transaction(merchant=merchant, reference=f"{text}S",
                              captured_at=datetime(2026, 11, 3, 10, tzinfo=SH))
    payout = Payout.objects.create(channel=merchant.channel, reference=f"{text}P", merchant=merchant,
                                   amount=swiped.net, status="credited", credited_at=datetime(2026, 11, 6, 15, tzinfo=SH))
    Transaction.objects.filter(pk=swiped.pk).update(payout=payout)
    client.force_login(merchant_user)
    body = b"".join(client.get("/m/statement/?month=2026-11&format=csv").streaming_content).decode("utf-8-sig")
    cells = [cell for row in csv.reader(io.StringIO(body)) for cell in row]
    assert f"'{text}S" in cells and f"'{text}P" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
