"""POST settlement-files: the business date rides in the signed body (a business_date column)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from settlement.models import ReconciliationRun, SettlementFile
from tests.channels.conftest import swipe

pytestmark = pytest.mark.django_db


@pytest.fixture
def day(acquirer, terminal):
    at = timezone.now() - timedelta(days=3)
    acquirer.post("transactions", {"transactions": [swipe("D1", amount="100.00", captured_at=at.isoformat())]})
    from settlement.models import Transaction

    return Transaction.objects.get(reference="D1").business_date


def test_the_files_business_date_column_is_the_date(acquirer, day):
    raw = f"reference,amount,清算日期\nD1,100.00,{day}\n".encode()
    response = acquirer.post("settlement-files", raw=raw, content_type="text/csv")
    assert response.status_code == 200, response.content
    assert response.json()["business_date"] == day.isoformat()
    assert ReconciliationRun.objects.get().totals["matched"]["count"] == 1


def test_a_query_string_that_disagrees_with_the_signed_column_is_refused(acquirer, day):
    raw = f"reference,amount,business_date\nD1,100.00,{day}\n".encode()
    other = day - timedelta(days=1)
    response = acquirer.post(f"settlement-files?business_date={other}", raw=raw, content_type="text/csv")
    assert response.status_code == 400 and response.json()["error"]["code"] == "business_date_mismatch"
    assert not SettlementFile.objects.exists()
    agreeing = acquirer.post(f"settlement-files?business_date={day}", raw=raw, content_type="text/csv")
    assert agreeing.status_code == 200


@pytest.mark.parametrize("column", ["2026-13-01", "MIXED"])
def test_one_readable_date_per_file(acquirer, day, column):
    second = day - timedelta(days=1) if column == "MIXED" else column
    raw = f"reference,amount,business_date\nD1,100.00,{day}\nD2,1.00,{second}\n".encode()
    response = acquirer.post("settlement-files", raw=raw, content_type="text/csv")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_business_date"
    assert "Line 3" in response.json()["error"]["message"] and not SettlementFile.objects.exists()


def test_the_old_query_string_still_works_for_files_without_the_column(acquirer, day):
    response = acquirer.post(f"settlement-files?business_date={day}", raw=b"reference,amount\nD1,100.00\n",
                             content_type="text/csv")
    assert response.status_code == 200 and response.json()["business_date"] == day.isoformat()
