"""RELIABILITY.md: "A full card number in any field; then a scan of the database dump
and logs -> refused; zero hits". A mixed workload (acquirer pushes of swipes, events,
payouts and settlement files; polls; merchant inquiries; staff notes and contacts; a
staff upload) offers card numbers in every spelling the detector knows (plain, spaced,
dashed, full-width, followed by a CVV, JSON-escaped) next to ordinary traffic. Then
every text column of every table (information_schema: text, varchar, char, json,
jsonb) and every log line the run wrote (through the real handlers and formatters) is
searched with the one detector, settlement.pan.contains_full_pan: a Luhn-valid run of
13-19 digits in any spelling. A canary row written past the doors proves the scan sees
what the doors would have refused."""

import io
import json
import logging
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone

from settlement.models import CaseEntry, FollowUpCase, Transaction
from settlement.pan import contains_full_pan
from settlement.services.polling import channel_poll
from tests.channels.conftest import event, swipe
from tests.factories import MembershipFactory, UserFactory
from tests.fake_acquirer import polling_on

pytestmark = pytest.mark.django_db

SPELLINGS = [
    "4111111111111111",
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "6225.8801.2345.6783",
    "６２２５８８０１２３４５６７８３",  # full-width, as Chinese input methods type
    "6225 8801 2345 6783 123",  # a card number and its CVV
    "5500 0000 0000 0004",
]
TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb")


def text_columns() -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = ANY(%s) ORDER BY table_name, column_name",
            [list(TEXT_TYPES)],
        )
        return cursor.fetchall()


SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def database_hits() -> tuple[list[tuple[str, str, str]], int]:
    """(table, column, value) of every stored text holding a card number; and how many
    values were read."""
    qn = connection.ops.quote_name
    hits, read = [], 0
    with connection.cursor() as cursor:
        for table, column in text_columns():
            cursor.execute(f"SELECT {qn(column)}::text FROM {qn(table)} WHERE {qn(column)} IS NOT NULL")
            for (value,) in cursor.fetchall():
                read += 1
                # A sha256 hex digest (event fingerprints, token hashes) holds a Luhn-valid
                # 13-19 digit run about once in 250: it is our hash, not a typed number.
                if contains_full_pan(value) and not SHA256_HEX.fullmatch(value):
                    hits.append((table, column, value[:200]))
    return hits, read


@pytest.fixture
def log_output():
    """Every log line, as the configured handlers format it (their streams swapped for a
    buffer), the root logger at DEBUG."""
    buffer = io.StringIO()
    loggers = [logging.getLogger(), *[logging.getLogger(n) for n in list(logging.root.manager.loggerDict)]]
    handlers = {id(h): h for logger in loggers for h in getattr(logger, "handlers", [])
                if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler)}
    swapped = [(handler, handler.setStream(buffer)) for handler in handlers.values()]
    assert swapped, "no stream handler configured"
    root_level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    yield buffer
    logging.getLogger().setLevel(root_level)
    for handler, stream in swapped:
        handler.setStream(stream)


@pytest.fixture
def acquirer_ids(acquirer, monkeypatch):
    """Webhook ids without long digit runs: a random hex id (`msg_<uuid4 hex>`) holds a
    Luhn-valid 13-19 digit run by chance about once in 300 ids (seen here:
    `msg_71e939ebd9804763954605392fd20be6`), which the scan would rightly report, since
    nothing tells it from a card number. The acquirer's ids are its own business; ours
    here are counters."""
    counter = iter(range(10**6))
    real = acquirer.request

    def request(method, path, payload=None, **kwargs):
        kwargs.setdefault("msg_id", f"msg_scan_{next(counter)}")
        return real(method, path, payload, **kwargs)

    monkeypatch.setattr(acquirer, "request", request)
    return acquirer


def test_a_mixed_workload_leaves_no_card_number_in_the_database_or_the_logs(
        acquirer_ids, terminal, shop, fake_status_api, log_output):
    acquirer = acquirer_ids
    refused = 0

    def refuse(response, *codes):
        nonlocal refused
        assert response.status_code in codes, (response.status_code, response.content[:300])
        if response["Content-Type"].startswith("application/json"):  # answers never echo it (forms keep
            assert not contains_full_pan(response.content.decode())  # the typed text for its author)
        refused += 1

    # acquirer pushes: ordinary swipes and events, and card numbers in every field
    ok = acquirer.post("transactions", {"transactions": [swipe(f"OK{i}") for i in range(3)]}).json()["results"]
    assert {r["result"] for r in ok} == {"created"}, ok
    for i, pan in enumerate(SPELLINGS):
        for field in ("reference", "masked_pan", "terminal_sn", "extra"):
            [result] = acquirer.post("transactions", {"transactions": [
                {**swipe(f"T{i}{field}"), field: pan}]}).json()["results"]
            assert (result["result"], result["error"]["code"]) == ("rejected", "full_pan_forbidden"), (pan, field)
            refused += 1
        for field in ("event_id", "reason", "payout_reference", "extra"):
            [result] = acquirer.post("events", {"events": [
                {**event(f"E{i}{field}", "OK0"), field: f"卡号 {pan}"}]}).json()["results"]
            assert (result["result"], result["error"]["code"]) == ("rejected", "full_pan_forbidden"), (pan, field)
            refused += 1
        refuse(acquirer.post("payouts", {"payout_reference": f"PO-{i}", "merchant_no": "M900001", "amount": "1.00",
                                         "status": "sent", "note": pan}), 400)
        refuse(acquirer.post("settlement-files", raw=f"reference,amount,remark\nOK0,1280.00,{pan}\n".encode(),
                             content_type="text/csv"), 400)
    escaped = json.dumps({"events": [event("E-esc", "OK0", reason="REASON")]}).replace(
        "REASON", "\\u0034111111111111111")  # "4111…" with its first digit JSON-escaped
    [result] = acquirer.post("events", raw=escaped.encode()).json()["results"]
    assert result["error"]["code"] == "full_pan_forbidden", result
    assert acquirer.post("events", {"events": [event("E-ok", "OK0", reason="客户尾号 1111，电话 138 0013 8000")]}
                         ).json()["results"][0]["result"] == "applied"

    # polls: the status API answers card numbers next to an honest event
    polling_on(shop.channel_id)
    for i, pan in enumerate(SPELLINGS):
        fake_status_api.knows.setdefault("OK1", []).append(
            {"event_id": f"P{i}", "type": "cleared", "occurred_at": timezone.now().isoformat(), "reason": pan})
    fake_status_api.knows["OK2"] = [{"event_id": "P-ok", "type": "cleared",
                                     "occurred_at": (timezone.now() - timedelta(minutes=9)).isoformat()}]
    Transaction.objects.exclude(next_poll_at=None).update(next_poll_at=timezone.now())
    report = channel_poll(channel_id=shop.channel_id, now=timezone.now())
    assert report.applied == 1 and not report.failed, report
    refused += len(SPELLINGS)

    # the merchant asks about a swipe: card numbers refused, a question accepted
    owner = UserFactory(username="owner-pan")
    MembershipFactory(user=owner, merchant=shop)
    merchant = Client()
    merchant.force_login(owner)
    swiped = Transaction.objects.get(reference="OK0")
    for pan in SPELLINGS:
        refuse(merchant.post(f"/m/swipes/{swiped.pk}/ask/", {"message": f"我的卡 {pan} 没到账"}), 400)
        refuse(merchant.post("/api/v1/merchant/inquiries/", {"transaction": swiped.pk, "message": pan},
                             content_type="application/json"), 400)
    assert merchant.post(f"/m/swipes/{swiped.pk}/ask/", {"message": "钱没到，尾号 1111"}).status_code in (200, 302)
    case = FollowUpCase.objects.get(transaction=swiped)

    # staff notes, contacts and an upload: card numbers refused, ordinary texts kept
    staff = Client()
    staff.force_login(UserFactory(username="agent-pan", is_staff=True))
    for pan in SPELLINGS:
        refuse(staff.post(f"/staff/cases/{case.pk}/note/", {"body": f"客户卡号 {pan}"}), 409)
        refuse(staff.post(f"/staff/cases/{case.pk}/reply/", {"body": f"您的卡 {pan}"}), 409)
        upload = staff.post("/staff/reconciliation/upload/", {
            "channel": shop.channel_id, "business_date": swiped.business_date.isoformat(),
            "file": SimpleUploadedFile("day.csv", f"reference,amount,remark\nOK0,1280.00,{pan}\n".encode()),
        })
        refuse(upload, 200, 400)  # the form again, with the refusal
    assert staff.post(f"/staff/cases/{case.pk}/note/", {"body": "客户尾号 1111，电话 138 0013 8000"}).status_code == 302
    assert CaseEntry.objects.filter(case=case, body__contains="138 0013 8000").exists()
    assert refused > 100

    # the scan: every text column of every table, then every log line
    hits, read = database_hits()
    assert read > 500 and ("OK0" in str(list(Transaction.objects.values_list("reference", flat=True))))
    assert not hits, hits
    lines = log_output.getvalue().splitlines()
    assert any("full_pan_forbidden" in line or "rejected" in line for line in lines), lines[-20:]
    leaked = [line for line in lines if contains_full_pan(line)]
    assert not leaked, leaked


def test_the_scan_finds_a_card_number_written_past_the_doors(merchant):
    """The canary: the same scan over a value written straight to a table (no door) finds it."""
    from merchants.models import Merchant

    assert database_hits()[0] == []
    Merchant.objects.filter(pk=merchant.pk).update(name="卡 ６２２５８８０１２３４５６７８３")
    hits, _read = database_hits()
    assert [(table, column) for table, column, _value in hits] == [(Merchant._meta.db_table, "name")]
