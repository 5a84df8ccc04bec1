import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from settlement.models import Notification, Payout
from settlement.services.payouts import PayoutInput, PayoutLineInput, payout_upsert
from tests.factories import make_transaction, push

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged_in(client, shop, merchant_user):
    client.force_login(merchant_user)
    return client


def test_home_shows_todays_totals_and_the_late_swipe_with_its_case(logged_in, shop):
    response = logged_in.get("/m/", HTTP_ACCEPT_LANGUAGE="en")
    today = response.context["today"]
    # 300.00 credited (net 298.20) and 58.50 on its way; the late 1,280 was swiped 3 days ago
    assert str(today.swiped) == "358.50" and today.count == 2
    assert str(today.arrived) == "298.20" and str(today.on_the_way) == "58.15"
    body = response.content.decode()
    assert "¥358.50" in body and "¥298.20" in body
    assert shop.case.reference in body and "Late payments" in body and "¥1,280.00" in body


def test_home_is_chinese_by_default(logged_in):
    body = logged_in.get("/m/").content.decode()
    assert "今天" in body and "在途" in body and "延迟款项" in body and "已清算" in body


def test_login_lands_merchants_on_the_dashboard(client, shop, merchant_user):
    response = client.post("/accounts/login/", {"username": "shopkeeper", "password": "correct-horse-battery"},
                           follow=True)
    assert response.redirect_chain[-1][0] == "/m/"
    assert response.status_code == 200


def test_login_locks_out_after_ten_failures(client, merchant_user):
    for _ in range(10):
        client.post("/accounts/login/", {"username": "shopkeeper", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "shopkeeper", "password": "correct-horse-battery"})
    assert response.status_code in (403, 429)
    assert "_auth_user_id" not in client.session


def test_polling_does_not_keep_an_idle_session_alive(client, shop):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client.post("/accounts/login/", {"username": "shopkeeper", "password": "correct-horse-battery"})
        assert client.get("/m/").status_code == 200
        # the open tab polls every 30 s for 16 minutes; nobody touches the page
        for _ in range(32):
            clock.shift(timedelta(seconds=30))
            response = client.get("/m/live/")
        # the last polls found the session gone and told htmx to go to the login page
        assert response.status_code == 401
        assert response["HX-Redirect"].startswith("/accounts/login/")
        assert client.get("/m/").status_code == 302


def test_real_page_views_do_keep_the_session_alive(client, shop):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client.post("/accounts/login/", {"username": "shopkeeper", "password": "correct-horse-battery"})
        for _ in range(4):
            clock.shift(timedelta(minutes=10))
            assert client.get("/m/").status_code == 200
        assert client.get("/m/live/").status_code == 200


def test_live_endpoint_is_a_fragment_without_caching(logged_in):
    response = logged_in.get("/m/live/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"<html" not in response.content and b'id="live"' in response.content
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_find_by_slip_reference_goes_straight_to_the_swipe(logged_in, shop):
    response = logged_in.get("/m/swipes/", {"reference": " A102 "})
    assert response.status_code == 302 and response["Location"] == f"/m/swipes/{shop.late.pk}/"


def test_find_by_amount_and_last4(logged_in, shop):
    response = logged_in.get("/m/swipes/", {"amount": "¥1,280", "last4": "8888"})
    assert [t.pk for t in response.context["results"]] == [shop.late.pk]
    response = logged_in.get("/m/swipes/", {"amount": "1280", "last4": "4321"})
    assert response.context["results"] == []


@pytest.mark.parametrize("params", [{"amount": "abc"}, {"last4": "12"}, {"terminal": "999999"},
                                    {"date_from": "yesterday"}, {"amount": "-5"}, {"amount": "NaN"}])
def test_bad_search_input_is_a_form_error_not_a_500(logged_in, params):
    response = logged_in.get("/m/swipes/", params)
    assert response.status_code == 200
    assert response.context["form"].errors and response.context["results"] == []


def test_swipe_page_has_timeline_and_plain_words(logged_in, shop):
    body = logged_in.get(f"/m/swipes/{shop.credited.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for step in ("Captured", "Cleared", "Settled", "Credited"):
        assert f"<strong>{step}</strong>" in body
    assert "arrived" in body and shop.payout.reference in body
    zh = logged_in.get(f"/m/swipes/{shop.late.pk}/").content.decode()
    assert "已延迟，原预计" in zh and shop.case.reference in zh


def test_arrival_page_matches_the_bank_line_and_labels_a_residual(logged_in, shop):
    body = logged_in.get(f"/m/arrivals/{shop.payout.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert shop.credited.reference in body and "¥1.80" in body and "does not add up" not in body
    Payout.objects.filter(pk=shop.payout.pk).update(amount=shop.payout.amount + 1)
    response = logged_in.get(f"/m/arrivals/{shop.payout.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    assert str(response.context["residual"]) == "1.00"
    assert b"does not add up" in response.content


def test_arrival_page_explains_a_stored_discrepancy_and_the_credited_by_swipes_rule(logged_in, shop):
    # given a bank credit the acquirer posted ¥1.80 above its one swipe's net
    txn = shop.on_the_way
    payout = payout_upsert(channel=shop.merchant.channel, data=PayoutInput(
        reference="PO-DOOR", merchant_no=shop.merchant.merchant_no, amount=txn.net + Decimal("1.80"), status="sent",
        transaction_references=(txn.reference,), sent_at=timezone.now() - timedelta(minutes=5))).payout
    body = logged_in.get(f"/m/arrivals/{payout.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Difference (found" in body and "is ¥1.80 more than its swipes add up to after fees" in body
    assert "you do not need to do anything" in body and "every swipe in it arrived" not in body
    listed = logged_in.get("/m/arrivals/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert listed.count("does not add up") == 1
    # when its swipe arrives, the credit is credited by the rule, and the page says why
    push(txn, "credited", timezone.now() - timedelta(minutes=1), payout_reference="PO-DOOR")
    body = logged_in.get(f"/m/arrivals/{payout.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "credited: every swipe in it arrived" in body


def test_arrival_page_shows_gross_deductions_and_net_from_the_lines(logged_in, shop):
    txn = shop.on_the_way
    payout = payout_upsert(channel=shop.merchant.channel, data=PayoutInput(
        reference="PO-LINES", merchant_no=shop.merchant.merchant_no, amount=txn.net - Decimal("15.00"),
        status="sent", transaction_references=(txn.reference,), sent_at=timezone.now() - timedelta(minutes=5),
        lines=(PayoutLineInput("refund", Decimal("-5.00"), "退货 return"),
               PayoutLineInput("reserve", Decimal("-10.00"), release_date=timezone.localdate() + timedelta(days=30))),
    )).payout
    response = logged_in.get(f"/m/arrivals/{payout.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert "Refunds · 退货 return" in body and "-¥5.00" in body and "Reserve withheld" in body
    assert "paid out on" in body and "Due to you after these" in body
    assert response.context["residual"] == 0 and "Difference" not in body


def test_export_is_utf8_with_bom_in_the_merchants_time_zone(logged_in, shop):
    day = timezone.localdate()
    response = logged_in.get("/m/export/", {"date_from": str(day - timedelta(days=5)), "date_to": str(day)})
    raw = b"".join(response.streaming_content)
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][0] == "参考号"
    by_ref = {r[0]: r for r in rows[1:]}
    assert set(by_ref) == {"A100", "A101", "A102"}
    assert by_ref["A100"][5] == "已到账" and by_ref["A100"][10] == shop.payout.reference
    local = timezone.localtime(shop.credited.captured_at).strftime("%Y-%m-%d %H:%M:%S")
    assert by_ref["A100"][1] == local


@pytest.mark.parametrize("reference", ["=1+2", "+3", "-4", "@SUM(A1:A9)", "\tx", "\r=cmd"])
def test_export_cells_a_spreadsheet_would_evaluate_are_inert(logged_in, shop, reference):
    from tests.factories import TerminalFactory

    terminal = TerminalFactory(merchant=shop.merchant, serial_number="=HYPERLINK(\"http://x\")")
    make_transaction(merchant=shop.merchant, reference=reference, terminal=terminal)
    day = timezone.localdate()
    response = logged_in.get("/m/export/", {"date_from": str(day - timedelta(days=5)), "date_to": str(day)})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    [row] = [r for r in rows[1:] if r[0].lstrip("'") == reference]
    assert row[0] == "'" + reference and row[7] == "'=HYPERLINK(\"http://x\")"
    assert row[2] == "128.00"  # amounts are numbers, left alone
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r)


def test_export_rejects_a_bad_range(logged_in):
    response = logged_in.get("/m/export/", {"date_from": "2026-05-01", "date_to": "2026-04-01"})
    assert response.status_code == 400


def test_notifications_list_and_mark_read(logged_in, shop):
    response = logged_in.get("/m/notifications/", HTTP_ACCEPT_LANGUAGE="en")
    assert b"This payment is late" in response.content and shop.case.reference.encode() in response.content
    logged_in.post("/m/notifications/read/")
    assert Notification.objects.get(pk=shop.notification.pk).read_at is not None


# --- query counts: list pages do not grow with their rows --------------------------------
LIST_PAGES = ["/m/", "/m/live/", "/m/swipes/", "/m/swipes/?amount=58.50", "/m/arrivals/", "/m/cases/",
              "/m/notifications/", "/api/v1/merchant/transactions/", "/api/v1/merchant/payouts/",
              "/api/v1/merchant/cases/", "/api/v1/merchant/notifications/"]


def _more_rows(shop, n: int) -> None:
    from tests.merchants.conftest import detected_case

    now = timezone.now()
    for i in range(n):
        txn = make_transaction(merchant=shop.merchant, amount="58.50", terminal=shop.terminal,
                               captured_at=now - timedelta(minutes=5 + i))
        payout = Payout.objects.create(channel=shop.merchant.channel, reference=f"PX{txn.pk}", merchant=shop.merchant,
                                       amount=txn.net, sent_at=now)
        push(txn, "settled", now - timedelta(minutes=1), payout_reference=payout.reference)
        late = make_transaction(merchant=shop.merchant, amount="20.00", captured_at=now - timedelta(days=4, minutes=i))
        case = detected_case(late)
        Notification.objects.create(merchant=shop.merchant, transaction=late, case=case, kind="late", created_at=now)


@pytest.mark.parametrize("url", LIST_PAGES)
def test_list_pages_do_a_fixed_number_of_queries(logged_in, shop, url, django_assert_num_queries):
    logged_in.get(url)  # warm the calendar snapshot cache
    with CaptureQueriesContext(connection) as few:
        assert logged_in.get(url).status_code == 200
    _more_rows(shop, 6)
    with django_assert_num_queries(len(few.captured_queries)):
        assert logged_in.get(url).status_code == 200


def test_site_home_sends_staff_to_their_queue_when_it_exists(client, staff_user):
    from django.urls import Resolver404, resolve

    client.force_login(staff_user)
    response = client.get("/")
    try:
        resolve("/staff/")
    except Resolver404:
        assert response.status_code == 200  # no staff pages on this branch yet
    else:
        assert response.status_code == 302 and response["Location"] == "/staff/"


def test_home_says_when_more_swipes_are_late_than_it_lists(logged_in, shop):
    from merchants.views import LATE_LIMIT
    from tests.merchants.conftest import detected_case

    for i in range(LATE_LIMIT):
        detected_case(make_transaction(merchant=shop.merchant, captured_at=timezone.now() - timedelta(days=5, minutes=i)))
    response = logged_in.get("/m/")
    assert len(response.context["late"]) == LATE_LIMIT and response.context["late_more"]
    assert f'data-testid="late-count">{LATE_LIMIT}+<' in response.content.decode()


def test_search_form_keeps_what_was_typed(logged_in, shop):
    body = logged_in.get("/m/swipes/", {"amount": "58.50", "terminal": shop.terminal.pk, "status": "captured",
                                        "date_from": "2026-01-02"}).content.decode()
    assert 'name="amount" id="id_amount" maxlength="20" inputmode="decimal" autocomplete="off" value="58.50"' in body
    assert f'<option value="{shop.terminal.pk}" selected>{shop.terminal.serial_number}</option>' in body
    assert '<option value="captured" selected>' in body and 'value="2026-01-02"' in body
