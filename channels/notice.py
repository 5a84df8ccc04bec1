"""Parse the State Council's yearly holiday notice (国务院办公厅关于20XX年部分节假日安排的通知)
into holidays and make-up working days (调休). Pure: no database.

The notice has one numbered line per holiday, e.g.

    二、春节：2月15日（农历腊月二十八、周日）至23日（农历正月初七、周一）放假调休，共9天。
    2月14日（周六）、2月28日（周六）上班。

A sentence with 放假 names the days off (one day, or "from ... to ..."); a sentence
ending in 上班 lists the make-up working days. Anything else (鼓励…休息) is ignored.
"""

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

_TITLE_YEAR = re.compile(r"关于(\d{4})年部分节假日安排")
_ITEM = re.compile(r"^[一二三四五六七八九十]+、([^:]+):(.*)$")
_DAY = re.compile(r"(?:(\d{4})年)?(?:(\d{1,2})月)?(\d{1,2})日")
_PAREN = re.compile(r"\([^)]*\)")


class NoticeError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class ParsedNotice:
    year: int
    holidays: dict[date, str] = field(default_factory=dict)
    workdays: dict[date, str] = field(default_factory=dict)


def _dates(text: str, year: int) -> list[date]:
    """Every M月D日 in order; a bare D日 keeps the month (and year) before it."""
    found: list[date] = []
    month = None
    for y, m, d in _DAY.findall(text):
        month = int(m) if m else month
        if month is None:
            raise NoticeError("notice_unreadable", f"A day without a month: {text!r}")
        try:
            found.append(date(int(y) if y else year, month, int(d)))
        except ValueError as exc:
            raise NoticeError("notice_bad_date", f"Not a date in {text!r}: {exc}") from None
    return found


def notice_parse(text: str, *, year: int | None = None) -> ParsedNotice:
    """The days the notice declares. `year` defaults to the one in the title."""
    # NFKC: full-width colons, parentheses and digits become ASCII ones.
    text = unicodedata.normalize("NFKC", text or "")
    if year is None:
        title = _TITLE_YEAR.search(text)
        if not title:
            raise NoticeError("notice_year_missing", "Say which year, or paste the notice with its title.")
        year = int(title.group(1))
    parsed = ParsedNotice(year=year)
    for line in text.splitlines():
        item = _ITEM.match(line.strip())
        if not item:
            continue
        name = item.group(1).strip()
        for sentence in item.group(2).split("。"):
            bare = _PAREN.sub("", sentence)  # (周日), (农历除夕、周二) carry no dates we need
            if "放假" in bare:
                days = _dates(bare.split("放假")[0], year)
                if not days:
                    raise NoticeError("notice_unreadable", f"No days off found in {sentence!r}")
                first, last = days[0], days[-1] if "至" in bare else days[0]
                if last < first or (last - first).days > 31:
                    raise NoticeError("notice_bad_range", f"An impossible period in {sentence!r}")
                day = first
                while day <= last:
                    parsed.holidays[day] = name
                    day += timedelta(days=1)
            elif bare.strip().endswith("上班"):
                for day in _dates(bare, year):
                    parsed.workdays[day] = f"{name}调休上班"
    if not parsed.holidays:
        raise NoticeError("notice_empty", "No holiday lines (一、元旦：…放假…) found in the text.")
    both = set(parsed.holidays) & set(parsed.workdays)
    if both:
        raise NoticeError("notice_contradiction", f"Both a day off and a working day: {sorted(both)[0]}")
    return parsed
