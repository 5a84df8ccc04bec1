from datetime import date
from decimal import Decimal

import pytest

from channels.models import CalendarYear
from channels.selectors import calendars_missing_next_year
from config.csv_safety import safe_row
from tests.factories import MerchantFactory


def test_safe_cell():
    assert safe_row(["=1+2", "+3", "-4", "@SUM(A1)", "\tx", "\rx", "A1", Decimal("-1.00"), 5]) == [
        "'=1+2", "'+3", "'-4", "'@SUM(A1)", "'\tx", "'\rx", "A1", Decimal("-1.00"), 5]

@pytest.mark.django_db
def test_calendars_missing_next_year():
    m = MerchantFactory()
    cal = m.channel.calendar
    assert calendars_missing_next_year(today=date(2026, 10, 31)) == []
    assert calendars_missing_next_year(today=date(2026, 12, 2)) == [cal]
    CalendarYear.objects.update_or_create(calendar=cal, year=2027, defaults={"complete": True})
    assert calendars_missing_next_year(today=date(2026, 12, 2)) == []
