"""Breaks: their lifecycle across runs (time machine), staff resolution, the staff page."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from settlement.models import ReconciliationBreak
from settlement.services.recon_breaks import BreakError, break_open_file_missing, breaks_resolve
from settlement.services.reconciliation import settlement_file_receive
from tests.factories import MerchantFactory, make_transaction
from tests.settlement.test_staff_pages import open_case

pytestmark = pytest.mark.django_db
HEADER = "reference,amount,fee\n"


@pytest.fixture
def swipes():
    merchant = MerchantFactory(merchant_no="M200", name="老王便利店", fee_rate_bps=60)
    at = timezone.now().replace(microsecond=0) - timedelta(days=1)
    return [make_transaction(merchant=merchant, amount=f"{100 + i}.00", reference=f"B{i}",
                             captured_at=at + timedelta(minutes=i)) for i in range(3)]


def file_of(swipes, **amounts) -> str:
    return HEADER + "".join(f"{t.reference},{amounts.get(t.reference, t.amount)},{t.fee}\n" for t in swipes)


def receive(swipes, text: str):
    return settlement_file_receive(channel=swipes[0].channel, raw=text.encode(),
                                   business_date=swipes[0].business_date, source="api")


def live(**filters):
    return ReconciliationBreak.objects.filter(**filters).order_by("kind", "key")


def test_breaks_are_new_then_persist_then_resolve_automatically(swipes):
    b0, b1, b2 = swipes
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = receive(swipes, file_of([b0, b1], B0="100.01"))  # B0 off by 0.01, B2 missing
    assert [(b.kind, b.key, b.status) for b in live()] == [
        ("amount_mismatch", "B0", "new"), ("missing_in_file", "B2", "new")]
    assert live(kind="amount_mismatch").get().difference == Decimal("0.01")
    assert live(kind="missing_in_file").get().difference == -b2.amount

    with time_machine.travel(start + timedelta(days=3), tick=False):
        second = receive(swipes, file_of(swipes, B0="100.01"))  # corrected for B2 only
    assert second.file.supersedes == first.file
    amount, missing = live(kind="amount_mismatch").get(), live(kind="missing_in_file").get()
    assert (amount.status, amount.seen_count, amount.first_run, amount.last_run) == (
        "persisting", 2, first.run, second.run)
    assert (amount.last_seen_at - amount.first_seen_at) == timedelta(days=3)
    assert (missing.status, missing.resolution, missing.resolved_by_run) == ("resolved", "auto", second.run)

    with time_machine.travel(start + timedelta(days=9), tick=False):
        third = receive(swipes, file_of(swipes))
    amount.refresh_from_db()
    assert (amount.status, amount.resolution, amount.resolved_by_run) == ("resolved", "auto", third.run)
    assert (amount.resolved_at - amount.first_seen_at).days == 9


def test_a_break_staff_resolved_stays_resolved_when_seen_again(swipes, staff_user):
    receive(swipes, file_of(swipes, B1="1.00"))
    brk = live().get()
    assert breaks_resolve(break_ids=[brk.pk], by=staff_user, reason="Acquirer confirmed a partial capture").resolved == 1
    receive(swipes, file_of(swipes, B1="1.00") + "\n")  # a re-sent file with one more byte
    brk.refresh_from_db()
    assert (brk.status, brk.resolution, brk.seen_count) == ("resolved", "staff", 2)
    assert live().count() == 1


def test_bulk_resolve_needs_a_reason_and_skips_what_is_already_resolved(swipes, staff_user):
    receive(swipes, file_of(swipes[:1]))
    ids = list(live().values_list("pk", flat=True))
    assert len(ids) == 2
    with pytest.raises(BreakError) as error:
        breaks_resolve(break_ids=ids, by=staff_user, reason="  ")
    assert error.value.code == "reason_required" and not live(status="resolved").exists()
    breaks_resolve(break_ids=ids[:1], by=staff_user, reason="first")
    done = breaks_resolve(break_ids=ids, by=staff_user, reason="second")
    assert (done.resolved, done.skipped) == (1, 1)
    assert live(pk=ids[0]).get().resolution_reason == "first"


def test_a_missing_file_break_resolves_when_the_file_arrives(swipes):
    day = swipes[0].business_date
    assert break_open_file_missing(channel_id=swipes[0].channel_id, business_date=day, now=timezone.now())
    assert not break_open_file_missing(channel_id=swipes[0].channel_id, business_date=day, now=timezone.now())
    receive(swipes, file_of(swipes))
    assert live(kind="file_missing").get().resolution == "auto"


# --- the staff page -------------------------------------------------------------------
def test_merchants_never_reach_the_reconciliation_pages(client, merchant_user):
    client.force_login(merchant_user)
    for url in ("/staff/reconciliation/", "/staff/reconciliation/upload/"):
        assert client.get(url).status_code == 403
    assert client.post("/staff/reconciliation/resolve/", {"break": ["1"], "reason": "x"}).status_code == 403


def test_the_page_filters_totals_and_tells_auto_from_staff(client, staff_user, swipes):
    receive(swipes, file_of(swipes[:2], B0="100.01"))  # B0 amount, B2 missing
    receive(swipes, file_of(swipes))  # both auto-resolved
    receive(swipes, file_of(swipes[1:]) + "B9,5.00,\n")  # B0 missing, B9 unknown
    unknown = live(kind="unknown_to_us").get()
    breaks_resolve(break_ids=[unknown.pk], by=staff_user, reason="Test line from the acquirer")
    client.force_login(staff_user)

    html = client.get("/staff/reconciliation/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 break" in html and "100.00" in html and 'data-reference="B0"' in html
    assert 'data-reference="B9"' not in html  # resolved ones are not "open"
    html = client.get("/staff/reconciliation/?state=all", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.count("badge-auto") == 2 and html.count("badge-staff") == 1
    assert "Test line from the acquirer" in html
    html = client.get("/staff/reconciliation/?state=all&kind=amount_mismatch").content.decode()
    assert 'data-reference="B0"' in html and 'data-reference="B2"' not in html
    html = client.get("/staff/reconciliation/?state=all&merchant=老王").content.decode()
    assert 'data-reference="B2"' in html
    assert 'data-reference="B2"' not in client.get("/staff/reconciliation/?state=all&merchant=M999").content.decode()
    assert 'data-reference="B0"' in client.get("/staff/reconciliation/?age=0-1").content.decode()
    assert 'data-reference="B0"' not in client.get("/staff/reconciliation/?age=2-7").content.decode()
    live(reference="B0", status="new").update(first_seen_at=timezone.now() - timedelta(days=40))
    assert 'data-reference="B0"' in client.get("/staff/reconciliation/?age=30%2B").content.decode()
    assert 'data-reference="B0"' not in client.get("/staff/reconciliation/?age=8-30").content.decode()


def test_the_page_costs_the_same_queries_for_more_breaks(client, staff_user):
    client.force_login(staff_user)
    merchant = MerchantFactory()
    at = timezone.now() - timedelta(days=1)

    def count(n: int, offset: int) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        txns = [make_transaction(merchant=merchant, captured_at=at - timedelta(days=offset, seconds=i))
                for i in range(n)]
        settlement_file_receive(channel=merchant.channel, raw=HEADER.encode(), business_date=txns[0].business_date,
                                source="api")
        client.get("/staff/reconciliation/")  # the session and the user, once
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/staff/reconciliation/").status_code == 200
        return len(queries)

    assert count(2, 5) == count(12, 10)


def test_the_csv_export_is_spreadsheet_safe(client, staff_user, swipes):
    receive(swipes, file_of(swipes) + "=HYPERLINK(1),5.00,\n")
    client.force_login(staff_user)
    response = client.get("/staff/reconciliation/?format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:4] == ["id", "channel", "business_date", "kind"]
    assert [r[3] for r in rows[1:]] == ["unknown_to_us"] and rows[1][6] == "'=HYPERLINK(1)"


def test_bulk_resolve_from_the_page(client, supervisor_user, swipes):
    receive(swipes, file_of(swipes[:1]))
    ids = [str(i) for i in live().values_list("pk", flat=True)]
    client.force_login(supervisor_user)
    response = client.post("/staff/reconciliation/resolve/", {"break": ids, "reason": "", "q": "kind="})
    assert response.status_code == 302 and not live(status="resolved").exists()
    response = client.post("/staff/reconciliation/resolve/", {"break": ids, "reason": "Known test swipes",
                                                              "q": "state=all"})
    assert response["Location"] == "/staff/reconciliation/?state=all"
    assert set(live().values_list("resolution", "resolved_by")) == {("staff", supervisor_user.pk)}


def test_a_break_shows_on_the_case_of_its_swipe(client, staff_user):
    case = open_case()
    txn = case.transaction
    settlement_file_receive(channel=txn.channel, raw=HEADER.encode(), business_date=txn.business_date, source="api")
    client.force_login(staff_user)
    html = client.get(f"/staff/cases/{case.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="reconciliation-breaks"' in html and "Missing in file" in html
    other = open_case()
    assert 'id="reconciliation-breaks"' not in client.get(f"/staff/cases/{other.pk}/").content.decode()
