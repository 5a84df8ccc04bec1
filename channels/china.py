"""Mainland China's statutory holidays and make-up working days (调休), read from the
maintained `holidays` package. Pure: the seed command stores this in the database."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import holidays as holidays_lib

from channels.business_days import BusinessDays

LIBRARY_VERSION = holidays_lib.__version__


@dataclass(frozen=True)
class ChinaSchedule:
    holidays: dict[date, str]
    workdays: dict[date, str]
    announced_years: frozenset[int]

    def business_days(self) -> BusinessDays:
        return BusinessDays.build(holidays=self.holidays, workdays=self.workdays, known_years=self.announced_years)


def china_schedule(years: Iterable[int], *, this_year: int) -> ChinaSchedule:
    """A year counts as announced when it is not later than `this_year` (the library
    knows 调休 up to the current year) or the library already lists make-up days for it;
    a later year is the library's guess without 调休, so it is left incomplete."""
    years = sorted(set(years))
    library = holidays_lib.China(years=years)
    holidays = {day: str(name) for day, name in library.items() if day.year in years}
    workdays = {day: "调休 make-up working day" for day in library.weekend_workdays if day.year in years}
    announced = frozenset(y for y in years if y <= this_year or any(d.year == y for d in workdays))
    return ChinaSchedule(holidays, workdays, announced)
