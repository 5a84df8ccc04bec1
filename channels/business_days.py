"""Business days of a channel's calendar, as a plain value: no database here.

A year the calendar has no data for falls back to Monday-Friday and says so, because
China announces next year's holidays and make-up working days (调休) late in the year.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta


@dataclass(frozen=True)
class BusinessDays:
    holidays: frozenset[date] = frozenset()
    # Make-up working days: weekend days that are working days (调休), e.g. 2026-10-10.
    workdays: frozenset[date] = frozenset()
    known_years: frozenset[int] = frozenset()
    names: Mapping[date, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        holidays: Mapping[date, str] | Iterable[date] = (),
        workdays: Mapping[date, str] | Iterable[date] = (),
        known_years: Iterable[int] = (),
    ) -> "BusinessDays":
        names: dict[date, str] = {}
        for days in (holidays, workdays):
            if isinstance(days, Mapping):
                names.update(days)
        return cls(
            holidays=frozenset(holidays),
            workdays=frozenset(workdays),
            known_years=frozenset(known_years),
            names=names,
        )

    def is_known(self, day: date) -> bool:
        return day.year in self.known_years

    def is_business_day(self, day: date) -> bool:
        if self.is_known(day):
            if day in self.workdays:
                return True
            if day in self.holidays:
                return False
        return day.weekday() < 5

    def name_of(self, day: date) -> str:
        return self.names.get(day, "")


# Long enough for the Spring Festival plus weekends; bounds the search on bad data.
MAX_SEARCH_DAYS = 45


@dataclass(frozen=True)
class BusinessDaySearch:
    day: date
    skipped: tuple[date, ...]  # days passed over because they were not business days
    incomplete: bool  # some day looked at lies in a year with no calendar data


def first_business_day(days: BusinessDays, start: date) -> BusinessDaySearch:
    """The first business day on or after `start`."""
    skipped: list[date] = []
    incomplete = False
    day = start
    for _ in range(MAX_SEARCH_DAYS):
        incomplete = incomplete or not days.is_known(day)
        if days.is_business_day(day):
            return BusinessDaySearch(day, tuple(skipped), incomplete)
        skipped.append(day)
        day += timedelta(days=1)
    # A calendar with no business day for weeks is a data error: say so, do not raise.
    return BusinessDaySearch(start, (), True)
