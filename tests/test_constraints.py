"""The database itself refuses what the code relies on never happening."""

from decimal import Decimal

import pytest
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from merchants.models import Merchant
from settlement.models import SettlementEvent, Transaction
from tests.factories import make_transaction

pytestmark = pytest.mark.django_db


def _refused(qs, **values):
    with pytest.raises(IntegrityError), transaction.atomic():
        qs.update(**values)


def test_transaction_columns_refuse_invalid_values(merchant):
    txn = make_transaction(merchant=merchant)
    qs = Transaction.objects.filter(pk=txn.pk)
    _refused(qs, masked_pan="4111111111111111")  # a full card number
    _refused(qs, masked_pan="4111111111111111111")
    _refused(qs, amount=Decimal("-1"), net=Decimal("-1"))
    _refused(qs, net=txn.net + Decimal("0.01"))
    _refused(qs, status="lost")
    _refused(qs, status="held")  # held needs where it returns to
    _refused(qs, overdue_at=txn.expected_by - timezone.timedelta(seconds=1))


def test_reference_is_unique_per_channel(merchant):
    txn = make_transaction(merchant=merchant)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_transaction(merchant=merchant, reference=txn.reference)


def test_event_id_is_unique_per_channel(merchant):
    txn = make_transaction(merchant=merchant)
    event = txn.events.get()
    with pytest.raises(IntegrityError), transaction.atomic():
        SettlementEvent.objects.create(
            channel=txn.channel, transaction=txn, event_id=event.event_id, type="cleared", source="push",
            occurred_at=timezone.now(), received_at=timezone.now(),
        )


def test_merchant_account_holds_last4_digits_only(merchant):
    with pytest.raises(IntegrityError), transaction.atomic():
        Merchant.objects.filter(pk=merchant.pk).update(account_last4="12ab")
    with pytest.raises(DataError), transaction.atomic():
        Merchant.objects.filter(pk=merchant.pk).update(account_last4="62220212345")


def test_the_late_scan_index_is_partial_on_non_final_rows():
    index = next(i for i in Transaction._meta.indexes if i.name == "txn_overdue_unflagged")
    assert index.condition is not None
    assert "credited" not in str(index.condition)
