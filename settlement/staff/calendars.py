"""The staff year editor (/staff/calendars/<code>/<year>/): a year as a grid of months,
click a day to toggle it, paste the State Council's notice to fill the year (previewed
first), mark the year complete. Thin: every write is channels.calendar_edit."""

import calendar as pycalendar
from datetime import date
from pathlib import Path

import holidays as holidays_lib
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.calendar_edit import (
    ORDINARY,
    CalendarEditError,
    calendar_day_set,
    calendar_year_mark,
    calendar_year_replace,
)
from channels.holiday_names import holiday_name
from channels.models import BusinessCalendar, CalendarDay, CalendarYear
from channels.notice import NoticeError, ParsedNotice, notice_parse
from settlement.staff.roles import Role, role_required

# Made up for the demo (clearly labelled inside): the real 2027 notice is not out yet.
DEMO_NOTICE = Path(__file__).resolve().parents[2] / "channels" / "data" / "notice_2027_MADE_UP.txt"
MAX_NOTICE_CHARS = 20_000


def _ring() -> None:
    """Ask a worker to start the recompute now; the beat task would within 30 s anyway."""
    from settlement.tasks import recompute_deadlines

    transaction.on_commit(recompute_deadlines.delay)


def _library_guess(year: int) -> dict[date, str]:
    """What the `holidays` package guesses for the year (no 调休 for unannounced years)."""
    return {d: str(n) for d, n in holidays_lib.China(years=[year]).items() if d.year == year}


def _months(year: int, stored: dict[date, CalendarDay], guess: dict[date, str],
            proposed: ParsedNotice | None) -> list[dict]:
    months = []
    for month in range(1, 13):
        weeks = []
        for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            cells = []
            for day in week:
                if day.month != month:
                    cells.append(None)
                    continue
                row = stored.get(day)
                kind = row.kind if row else ORDINARY
                name = row.name if row else ""
                if proposed is not None:
                    new = ("holiday" if day in proposed.holidays else "workday" if day in proposed.workdays
                           else ORDINARY)
                    changed = new != kind
                    kind, name = new, proposed.holidays.get(day) or proposed.workdays.get(day) or ""
                else:
                    changed = False
                cells.append({
                    "day": day, "kind": kind, "name": holiday_name(name) or name, "weekend": day.weekday() >= 5,
                    "guess": holiday_name(guess.get(day, "")) or guess.get(day, "") if kind == ORDINARY else "",
                    "changed": changed,
                })
            weeks.append(cells)
        months.append({"number": month, "first": date(year, month, 1), "weeks": weeks})
    return months


def _toggled(day: date, current: str) -> str:
    if current != ORDINARY:
        return ORDINARY
    return CalendarDay.Kind.WORKDAY if day.weekday() >= 5 else CalendarDay.Kind.HOLIDAY


@role_required(Role.SUPERVISOR)
def year_editor(request: HttpRequest, code: str, year: int) -> HttpResponse:
    if not 2000 <= year <= 2100:
        raise Http404
    cal = get_object_or_404(BusinessCalendar, code=code)
    here = reverse("staff:calendar-year", args=[cal.code, year])
    proposed: ParsedNotice | None = None
    notice_text = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "toggle":
                day = date.fromisoformat(request.POST.get("day", ""))
                if day.year != year:
                    raise CalendarEditError("day_outside_year", _("That day is not in this year."))
                current = CalendarDay.objects.filter(calendar=cal, date=day).values_list("kind", flat=True).first()
                change = calendar_day_set(calendar=cal, day=day, kind=_toggled(day, current or ORDINARY))
                if change.recompute_id:
                    _ring()
                return redirect(f"{here}#m{day.month}")
            if action in ("complete", "incomplete"):
                if calendar_year_mark(calendar=cal, year=year, complete=action == "complete",
                                      source=f"staff {request.user.get_username()}"[:100]):
                    _ring()
                messages.success(request, _("Year marked complete: deadlines are being recomputed.")
                                 if action == "complete" else _("Year marked incomplete."))
                return redirect(here)
            notice_text = request.POST.get("notice", "")[:MAX_NOTICE_CHARS]
            if action in ("preview", "apply"):
                proposed = notice_parse(notice_text)
                if proposed.year != year:
                    raise NoticeError("notice_other_year", _("This notice is for %(y)s.") % {"y": proposed.year})
                if action == "apply":
                    calendar_year_replace(
                        calendar=cal, year=year, holidays=proposed.holidays, workdays=proposed.workdays,
                        complete=request.POST.get("complete") == "on",
                        source=f"notice, staff {request.user.get_username()}"[:100],
                    )
                    _ring()
                    messages.success(request, _("%(h)s holidays and %(w)s make-up working days saved.") % {
                        "h": len(proposed.holidays), "w": len(proposed.workdays)})
                    return redirect(here)
            elif action:
                raise Http404
        except (CalendarEditError, NoticeError) as exc:
            messages.error(request, f"{exc.message} ({exc.code})")
            proposed = None
        except ValueError:
            messages.error(request, _("Not a date.") + " (invalid_date)")
    elif request.GET.get("demo_notice") and DEMO_NOTICE.exists():
        notice_text = DEMO_NOTICE.read_text(encoding="utf-8")
    stored = {d.date: d for d in CalendarDay.objects.filter(calendar=cal, date__year=year)}
    year_row = CalendarYear.objects.filter(calendar=cal, year=year).first()
    months = _months(year, stored, _library_guess(year), proposed)
    return render(request, "settlement/staff/calendar_year.html", {
        "calendar": cal, "year": year, "year_row": year_row, "complete": bool(year_row and year_row.complete),
        "months": months, "proposed": proposed,
        "notice_text": notice_text, "weekdays": [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")],
        "demo_notice": DEMO_NOTICE.exists() and year == 2027,
        "today": timezone.localdate(),
        "changes": sum(1 for m in months for w in m["weeks"] for c in w if c and c["changed"]),
    })
