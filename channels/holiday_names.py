"""Display names of calendar days. The `holidays` package names China's holidays in
English; merchants and staff read Chinese. Used by the dashboard and the staff pages."""

import re
from datetime import date

from django.utils.translation import get_language, gettext

# The `holidays` package names China's holidays in English; merchants read Chinese.
HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Chinese New Year's Eve": "春节",
    "Chinese New Year (Spring Festival)": "春节",
    "Spring Festival": "春节",
    "Tomb-Sweeping Day": "清明节",
    "Labor Day": "劳动节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-Autumn Festival": "中秋节",
    "National Day": "国庆",
}
# Group names in English for the sentence "postponed over the ... holiday".
HOLIDAY_NAMES_EN = {"Chinese New Year's Eve": "Spring Festival", "Chinese New Year (Spring Festival)": "Spring Festival"}
_OBSERVED = re.compile(r"\s*\((observed|substituted[^)]*)\)\s*$", re.IGNORECASE)


def is_chinese() -> bool:
    return (get_language() or "").lower().startswith("zh")


def holiday_name(raw: str) -> str:
    """A display name for a calendar entry, or "" for days off that are only 调休 swaps."""
    base = _OBSERVED.sub("", raw or "").strip()
    if not base or base.lower().startswith("day off") or "调休" in base:
        return ""
    if is_chinese():
        return HOLIDAY_NAMES_ZH.get(base, base)
    return HOLIDAY_NAMES_EN.get(base, base)


def day_off_name(raw: str, day: date) -> str:
    """Why a day was skipped: a holiday's display name, a day off swapped for a 调休
    working day, or a plain weekend."""
    if raw:
        return holiday_name(raw) or gettext("Day off in lieu (调休)")
    return gettext("Weekend") if day.weekday() >= 5 else ""
