"""The State Council notice parser against `chinesecalendar`, every day of 2024-2026."""

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from channels.business_days import BusinessDays
from channels.notice import NoticeError, notice_parse

NOTICES = Path(__file__).resolve().parent.parent / "data" / "notices"


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_the_real_notice_gives_the_same_working_days_as_chinesecalendar(year):
    parsed = notice_parse((NOTICES / f"{year}.txt").read_text(encoding="utf-8"))
    assert parsed.year == year
    days = BusinessDays.build(holidays=parsed.holidays, workdays=parsed.workdays, known_years=[year])
    day, wrong = date(year, 1, 1), []
    while day.year == year:
        if days.is_business_day(day) != chinese_calendar.is_workday(day):
            wrong.append(day)
        day += timedelta(days=1)
    assert wrong == []
    # and every day the notice calls a holiday is a named holiday there too
    for day in parsed.holidays:
        assert chinese_calendar.get_holiday_detail(day)[1] is not None or day.weekday() >= 5


def test_a_2026_line_in_detail():
    parsed = notice_parse("二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。"
                          "2月14日（周六）、2月28日（周六）上班。", year=2026)
    assert sorted(parsed.holidays) == [date(2026, 2, d) for d in range(15, 24)]
    assert set(parsed.holidays.values()) == {"春节"}
    assert sorted(parsed.workdays) == [date(2026, 2, 14), date(2026, 2, 28)]


def test_a_period_across_months_and_full_width_digits():
    parsed = notice_parse("五、端午节：５月31日（周六）至6月2日（周一）放假，共3天。", year=2025)
    assert sorted(parsed.holidays) == [date(2025, 5, 31), date(2025, 6, 1), date(2025, 6, 2)]


@pytest.mark.parametrize(("text", "code"), [
    ("一、元旦：1月1日放假。", "notice_year_missing"),
    ("国务院办公厅关于2027年部分节假日安排的通知\n随便写点什么", "notice_empty"),
    ("国务院办公厅关于2027年部分节假日安排的通知\n一、元旦：2月30日放假。", "notice_bad_date"),
    ("国务院办公厅关于2027年部分节假日安排的通知\n一、元旦：1月9日至3日放假。", "notice_bad_range"),
])
def test_bad_text_gets_a_stable_code(text, code):
    with pytest.raises(NoticeError) as err:
        notice_parse(text)
    assert err.value.code == code
