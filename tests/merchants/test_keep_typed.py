"""Keep what was typed (issue 13, item 6): a refused message comes back in its box; the
reference field opens a text keyboard; find takes lowercase and 4+ character prefixes
of a reference, on the txn_merchant_ref_upper index."""

import re

import pytest
from django.db import connection

from merchants.selectors import SwipeQuery, swipes_find
from settlement.models import CaseEntry, FollowUpCase, Transaction
from tests.factories import make_transaction

pytestmark = pytest.mark.django_db
WITH_PAN = "卡号 4111 1111 1111 1111 的这笔钱还没到 <b>"


@pytest.fixture
def logged_in(client, shop, merchant_user):
    client.force_login(merchant_user)
    return client


@pytest.mark.parametrize("where", ["swipe", "arrival", "case"])
def test_a_message_refused_for_a_card_number_keeps_the_text(logged_in, shop, where):
    url = {"swipe": f"/m/swipes/{shop.on_the_way.pk}/ask/", "arrival": f"/m/arrivals/{shop.payout.pk}/ask/",
           "case": f"/m/cases/{shop.case.pk}/reply/"}[where]
    cases, entries = FollowUpCase.objects.count(), CaseEntry.objects.count()
    response = logged_in.post(url, {"message": WITH_PAN})
    assert response.status_code == 400
    body = response.content.decode()
    assert "请不要填写完整卡号" in body
    # the text is back in the box (escaped), and nothing was stored
    assert re.search(r'<textarea name="message"[^>]*aria-invalid="true"[^>]*>卡号 4111 1111 1111 1111 的这笔钱还没到 &lt;b&gt;</textarea>', body)
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    assert (FollowUpCase.objects.count(), CaseEntry.objects.count()) == (cases, entries)


def test_an_empty_message_is_refused_in_place(logged_in, shop):
    response = logged_in.post(f"/m/swipes/{shop.on_the_way.pk}/ask/", {"message": "   "})
    assert response.status_code == 400 and 'role="alert" id="message-error"' in response.content.decode()


def test_the_reference_fields_open_a_text_keyboard(logged_in):
    for url in ("/m/", "/m/swipes/"):
        body = logged_in.get(url).content.decode()
        field = re.search(r'<input[^>]*name="reference"[^>]*>', body).group(0)
        assert 'inputmode="text"' in field and "pattern=" not in field and "numeric" not in field


def test_lowercase_reference_goes_straight_to_the_swipe(logged_in, shop):
    response = logged_in.get("/m/swipes/", {"reference": "a102"})
    assert response.status_code == 302 and response["Location"] == f"/m/swipes/{shop.late.pk}/"


def test_a_prefix_of_four_or_more_lists_what_starts_with_it(logged_in, shop):
    extra = make_transaction(merchant=shop.merchant, reference="A1029")
    response = logged_in.get("/m/swipes/", {"reference": "a10"})  # 3 characters: whole references only
    assert response.status_code == 200 and response.context["results"] == []
    # A102 is whole and exact: straight there, even though A1029 starts with it too
    assert logged_in.get("/m/swipes/", {"reference": "a102"})["Location"] == f"/m/swipes/{shop.late.pk}/"
    make_transaction(merchant=shop.merchant, reference="A1030")
    results = logged_in.get("/m/swipes/", {"reference": "a10"}).context["results"]
    assert results == []
    results = logged_in.get("/m/swipes/", {"reference": "a103"}).context["results"]
    assert [t.reference for t in results] == ["A1030"]
    results = logged_in.get("/api/v1/merchant/transactions/", {"reference": "a102"}).json()["results"]
    assert {r["reference"] for r in results} == {"A102", extra.reference}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="EXPLAIN output is PostgreSQL's")
@pytest.mark.parametrize("reference", ["a102", "A10"])
def test_the_reference_find_uses_its_index(shop, reference):
    from django.db import connection as conn

    # Enough rows of this merchant (and fresh statistics) that walking them by date or
    # card is dearer than the reference index, as on a real shop's table.
    template = shop.on_the_way
    Transaction.objects.bulk_create([
        Transaction(**{**{f.attname: getattr(template, f.attname) for f in Transaction._meta.concrete_fields},
                       "id": None, "reference": f"Z{i:011d}"})
        for i in range(3000)
    ])
    with conn.cursor() as cur:
        cur.execute("ANALYZE settlement_transaction")
    plan = swipes_find(shop.merchant, SwipeQuery(reference=reference))[:101].explain()
    assert "txn_merchant_ref_upper" in plan, plan
    # the reference is an index condition (a LIKE prefix becomes a range), not only a filter
    assert re.search(r"Index Cond: \(\(merchant_id = \d+\) AND \(upper\(\(reference\)::text\) (=|~>=~)", plan), plan


def test_a_refused_login_keeps_the_username(client, merchant_user):
    body = client.post("/accounts/login/", {"username": "shopkeeper", "password": "wrong"}).content.decode()
    assert 'value="shopkeeper"' in body
