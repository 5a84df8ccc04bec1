"""Expected arrival: pure arithmetic, no database. chinesecalendar is the oracle."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from channels.business_days import BusinessDays
from channels.china import china_schedule
from settlement.arrival import ArrivalRules, Cycle, business_date_of, expected_arrival

SH = ZoneInfo("Asia/Shanghai")
DAYS = china_schedule(range(2024, 2027), this_year=2026).business_days()


def rules(cycle: str) -> ArrivalRules:
    return ArrivalRules(cycle=cycle, tz=SH)


def local(y, m, d, hh=12, mm=0, ss=0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=SH)


def every_day(year: int):
    day = date(year, 1, 1)
    while day.year == year:
        yield day
        day += timedelta(days=1)


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_day_of_2025_and_2026_matches_the_oracle(year):
    mismatches = [d for d in every_day(year) if DAYS.is_business_day(d) != chinese_calendar.is_workday(d)]
    assert mismatches == []


@pytest.mark.parametrize(
    "captured, expected_day, skipped_count",
    [
        # National Day 2026: 10-01..10-07 off; T+1 from 30 Sep lands on Thu 10-08.
        (local(2026, 9, 30, 15), date(2026, 10, 8), 7),
        # Saturday 2026-10-10 is a make-up working day (调休): T+1 from Friday 10-09.
        (local(2026, 10, 9, 10), date(2026, 10, 10), 0),
        # Spring Festival 2026: 02-15..02-23 off; Saturday 02-14 is a working day.
        (local(2026, 2, 13, 10), date(2026, 2, 14), 0),
        (local(2026, 2, 14, 10), date(2026, 2, 24), 9),
        # Saturday 2026-02-28 is a make-up working day.
        (local(2026, 2, 27, 10), date(2026, 2, 28), 0),
        # National Day 2025: 10-01..10-08 off; Sunday 09-28 and Saturday 10-11 work.
        (local(2025, 9, 27, 10), date(2025, 9, 28), 0),
        (local(2025, 9, 30, 10), date(2025, 10, 9), 8),
        (local(2025, 10, 10, 10), date(2025, 10, 11), 0),
        # Spring Festival 2025: 01-28..02-04 off; Sunday 01-26 and Saturday 02-08 work.
        (local(2025, 1, 25, 10), date(2025, 1, 26), 0),
        (local(2025, 1, 27, 10), date(2025, 2, 5), 8),
        # Labour Day 2026: 05-01..05-05 off; Saturday 05-09 works.
        (local(2026, 4, 30, 10), date(2026, 5, 6), 5),
        (local(2026, 5, 8, 10), date(2026, 5, 9), 0),
        # New Year 2026: 01-01..01-03 off; Sunday 01-04 works.
        (local(2025, 12, 31, 10), date(2026, 1, 4), 3),
        # Dragon Boat 2026 (Fri 06-19) and Mid-Autumn 2026 (Fri 09-25): plain long weekends.
        (local(2026, 6, 18, 10), date(2026, 6, 22), 3),
        (local(2026, 9, 24, 10), date(2026, 9, 28), 3),
        # Qingming 2026: 04-04..04-06 off.
        (local(2026, 4, 3, 10), date(2026, 4, 7), 3),
    ],
)
def test_t1_holiday_boundaries(captured, expected_day, skipped_count):
    arrival = expected_arrival(captured, rules(Cycle.T1), DAYS)
    assert arrival.expected_by == datetime.combine(expected_day, time(18), tzinfo=SH)
    assert len(arrival.skipped) == skipped_count
    assert not arrival.calendar_incomplete


def test_cutoff_exactly_at_the_boundary_second():
    # Thursday 2026-11-19: one second before 23:00 is still Thursday's business.
    before = expected_arrival(local(2026, 11, 19, 22, 59, 59), rules(Cycle.T1), DAYS)
    at = expected_arrival(local(2026, 11, 19, 23, 0, 0), rules(Cycle.T1), DAYS)
    assert before.business_date == date(2026, 11, 19)
    assert before.expected_by == local(2026, 11, 20, 18)
    assert at.business_date == date(2026, 11, 20)
    assert at.expected_by == local(2026, 11, 23, 18)  # Friday's business -> Monday


def test_utc_input_is_judged_in_shanghai_time():
    # 15:00 UTC is 23:00 in Shanghai (no DST): after the cut-off.
    captured = datetime(2026, 11, 19, 15, 0, tzinfo=UTC)
    arrival = expected_arrival(captured, rules(Cycle.T1), DAYS)
    assert arrival.business_date == date(2026, 11, 20)
    assert arrival.expected_by.utcoffset() == timedelta(hours=8)
    assert arrival.expected_by.astimezone(UTC) == datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    # One second earlier in UTC is the previous business date.
    assert business_date_of(captured - timedelta(seconds=1), rules(Cycle.T1)) == date(2026, 11, 19)


def test_shanghai_has_no_dst_all_year():
    offsets = {local(2026, m, 1).utcoffset() for m in range(1, 13)}
    assert offsets == {timedelta(hours=8)}


def test_d1_ignores_the_calendar():
    arrival = expected_arrival(local(2026, 9, 30, 15), rules(Cycle.D1), DAYS)
    assert arrival.expected_by == local(2026, 10, 1, 18)
    assert not arrival.calendar_incomplete


def test_t0_on_a_business_day_before_cutoff_is_capture_plus_window():
    arrival = expected_arrival(local(2026, 11, 19, 14, 2), rules(Cycle.T0), DAYS)
    assert arrival.expected_by == local(2026, 11, 19, 16, 2)


def test_t0_on_a_holiday_waits_for_the_next_business_morning():
    arrival = expected_arrival(local(2026, 10, 3, 11), rules(Cycle.T0), DAYS)
    assert arrival.expected_by == local(2026, 10, 8, 11)  # 09:00 + 2 h


def test_t0_after_cutoff_goes_to_the_next_business_morning():
    arrival = expected_arrival(local(2026, 11, 20, 23, 30), rules(Cycle.T0), DAYS)  # Friday night
    assert arrival.expected_by == local(2026, 11, 23, 11)


def test_d0_any_day_and_after_cutoff_next_morning():
    assert expected_arrival(local(2026, 10, 3, 11), rules(Cycle.D0), DAYS).expected_by == local(2026, 10, 3, 13)
    assert expected_arrival(local(2026, 10, 3, 23, 5), rules(Cycle.D0), DAYS).expected_by == local(2026, 10, 4, 11)


def test_unannounced_year_falls_back_to_weekdays_and_says_so():
    # 2027 has no data: 2027-01-01 (a Friday) counts as a business day, flagged incomplete.
    arrival = expected_arrival(local(2026, 12, 31, 10), rules(Cycle.T1), DAYS)
    assert arrival.expected_by == local(2027, 1, 1, 18)
    assert arrival.calendar_incomplete
    assert not expected_arrival(local(2026, 12, 30, 10), rules(Cycle.T1), DAYS).calendar_incomplete


def test_a_calendar_with_no_business_days_does_not_raise():
    all_off = BusinessDays.build(
        holidays=[date(2026, 1, 1) + timedelta(days=i) for i in range(365)], known_years=[2026]
    )
    arrival = expected_arrival(local(2026, 3, 2, 10), rules(Cycle.T1), all_off)
    assert arrival.calendar_incomplete


def test_naive_datetime_is_refused():
    with pytest.raises(ValueError):
        expected_arrival(datetime(2026, 3, 2, 10), rules(Cycle.T1), DAYS)  # noqa: DTZ001


instants_2025_2026 = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2026, 12, 29), timezones=st.just(UTC)
)


@settings(max_examples=400, deadline=None)
@given(captured=instants_2025_2026)
def test_t1_matches_chinesecalendar_oracle(captured):
    local_time = captured.astimezone(SH)
    bdate = local_time.date() + timedelta(days=1 if local_time.time() >= time(23) else 0)
    due = bdate + timedelta(days=1)
    while not chinese_calendar.is_workday(due):
        due += timedelta(days=1)
    arrival = expected_arrival(captured, rules(Cycle.T1), DAYS)
    assert arrival.expected_by == datetime.combine(due, time(18), tzinfo=SH)
    assert arrival.expected_by > captured


@settings(max_examples=300, deadline=None)
@given(
    captured=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    cycle=st.sampled_from(list(Cycle.values)),
)
def test_any_instant_any_cycle_gives_a_later_deadline_without_raising(captured, cycle):
    arrival = expected_arrival(captured, rules(cycle), DAYS)
    assert arrival.expected_by > captured
    assert arrival.expected_by - captured < timedelta(days=50)
    # The due day is the last day the search looked at: an unknown year there must be said.
    # (Not the capture's UTC year: 2023-12-31 00:00 UTC settles T+1 on 2024-01-02.)
    if arrival.settle_day.year not in DAYS.known_years and cycle in (Cycle.T1, Cycle.T0):
        assert arrival.calendar_incomplete


def test_arrival_module_has_no_database_access():
    import settlement.arrival as module

    source = open(module.__file__).read()
    assert "objects" not in source and "connection" not in source
