"""settlement.bulk_sql writes what it is given, byte for byte: quotes, backslashes,
braces, commas, the word NULL, empty strings, JSON, None, timestamps and decimals round
trip through one array per column (PostgreSQL) or the ORM fallback (SQLite, run by
test_reconciliation_sqlite's child pytest)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DataError, connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settlement.bulk_sql import rows_insert, rows_update
from settlement.models import SettlementEvent, Transaction
from tests.factories import make_transaction

pytestmark = pytest.mark.django_db

COLUMNS = ("channel_id", "transaction_id", "event_id", "type", "source", "outcome", "from_status",
           "to_status", "occurred_at", "received_at", "payout_reference", "reason", "payload", "fingerprint")
TRICKY = ['"', "\\", '\\"', "{", "}", "{a,b}", ",", "NULL", "null", "", " ", "'", "a'b", "中文 到账",
          "tab\there", "new\nline", "$1", "%s", "%(x)s", "\u00a0", "😀"]
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3), max_leaves=8,
)


def _rows(txn, reasons, payloads):
    now = timezone.now().replace(microsecond=123456)
    return [
        (txn.channel_id, txn.pk, f"bulk-{txn.pk}-{i}", "cleared", "push", "stale", "", "", now - timedelta(seconds=i),
         now, reason[:64], reason, payload, "")
        for i, (reason, payload) in enumerate(zip(reasons, payloads, strict=True))
    ]


def _stored(txn):
    return list(SettlementEvent.objects.filter(transaction=txn, event_id__startswith="bulk-")
                .order_by("pk").values_list(*COLUMNS))


def test_tricky_strings_and_json_round_trip(merchant):
    txn = make_transaction(merchant=merchant)
    payloads = [{"k": s, s: [s, None, 1.5, True]} for s in TRICKY]
    rows = _rows(txn, TRICKY, payloads)
    rows_insert(SettlementEvent, COLUMNS, rows)
    assert _stored(txn) == rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reasons=st.lists(texts, min_size=1, max_size=6), data=st.data())
def test_any_text_and_json_round_trip(merchant, reasons, data):
    payloads = [data.draw(st.dictionaries(texts, json_values, max_size=3)) for _ in reasons]
    with transaction.atomic():  # each example on its own savepoint: a failure leaves the next usable
        txn = make_transaction(merchant=merchant)
        rows = _rows(txn, [r[:300] for r in reasons], payloads)
        rows_insert(SettlementEvent, COLUMNS, rows)
        assert _stored(txn) == rows


def test_a_conflict_clause_skips_the_existing_row_and_returning_names_only_new_rows(merchant):
    txn = make_transaction(merchant=merchant)
    first, second = _rows(txn, ["first", "second"], [{}, {}])
    assert rows_insert(SettlementEvent, COLUMNS, [first]) == []  # no RETURNING, nothing handed back
    again = first[:11] + ("again",) + first[12:]
    new = rows_insert(SettlementEvent, COLUMNS, [again, second],
                      on_conflict="ON CONFLICT (channel_id, event_id) DO NOTHING", returning=["event_id", "reason"])
    assert new == [(second[2], "second")]
    assert [row[11] for row in _stored(txn)] == ["first", "second"]
    third = _rows(txn, ["a", "b", "third"], [{}, {}, {}])[2]
    assert rows_insert(SettlementEvent, COLUMNS, [third], on_conflict="ON CONFLICT DO NOTHING") == []
    assert [row[11] for row in _stored(txn)] == ["first", "second", "third"]


def test_a_too_long_value_is_never_truncated(merchant):
    """PostgreSQL refuses it as a plain INSERT would (a cast to varchar(n) would cut it
    silently); SQLite has no lengths, so item validation is what guards it there."""
    txn = make_transaction(merchant=merchant)
    (row,) = _rows(txn, ["x"], [{}])
    too_long = row[:11] + ("r" * 301,) + row[12:]
    if connection.vendor == "postgresql":
        with pytest.raises(DataError), transaction.atomic():
            rows_insert(SettlementEvent, COLUMNS, [too_long])
        assert _stored(txn) == []
    else:
        rows_insert(SettlementEvent, COLUMNS, [too_long])
        assert _stored(txn) == [too_long]


def test_rows_update_sets_values_and_nulls_and_leaves_other_rows_alone(merchant):
    one, two, other = (make_transaction(merchant=merchant, amount=a) for a in ("1.00", "2.00", "3.00"))
    at = timezone.now().replace(microsecond=654321)
    rows_update(Transaction, [(one.pk, "settled", at, "P-\"1\",{x}", None),
                              (two.pk, "credited", None, "", at)],
                ["status", "settled_at", "pending_payout_reference", "next_poll_at"])
    got = {t.pk: (t.status, t.settled_at, t.pending_payout_reference, t.next_poll_at, t.amount)
           for t in Transaction.objects.filter(pk__in=[one.pk, two.pk, other.pk])}
    assert got[one.pk] == ("settled", at, 'P-"1",{x}', None, Decimal("1.00"))
    assert got[two.pk] == ("credited", None, "", at, Decimal("2.00"))
    assert got[other.pk][:1] == (other.status,) and got[other.pk][4] == Decimal("3.00")


def test_empty_input_runs_no_statement(merchant, django_assert_num_queries):
    with django_assert_num_queries(0):
        rows_insert(SettlementEvent, COLUMNS, [])
        rows_update(Transaction, [], ["status"])
