"""The one door for calendar changes: the admin, `seed_calendar`, `calendar_day` and
the staff year editor all change days and years here. Each change that can move a
stored deadline records a DeadlineRecompute in the same transaction (only a complete
year's days count: an incomplete year falls back to Monday-Friday anyway)."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from auditlog.models import LogEntry
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels.audit import audit_days
from channels.models import BusinessCalendar, CalendarDay, CalendarYear
from channels.selectors import clear_calendar_cache

ORDINARY = "ordinary"
# Channel fields that move a stored deadline (a change records a recompute).
RULE_FIELDS = ("timezone", "cutoff_time", "arrival_by_time", "day_start_time", "same_day_window_minutes",
               "grace_minutes", "calendar")
KINDS = (CalendarDay.Kind.HOLIDAY, CalendarDay.Kind.WORKDAY, ORDINARY)


class CalendarEditError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CalendarChange:
    changed: list[tuple[date, str]]  # (day, new kind) for the days that really changed
    recompute_id: int | None  # the DeadlineRecompute recorded, if any


def _touched(calendar: BusinessCalendar) -> None:
    BusinessCalendar.objects.filter(pk=calendar.pk).update(updated_at=timezone.now())
    transaction.on_commit(clear_calendar_cache)
    clear_calendar_cache()


def _year_complete(calendar: BusinessCalendar, year: int) -> bool:
    return CalendarYear.objects.filter(calendar=calendar, year=year, complete=True).exists()


def _request(calendar: BusinessCalendar, *, reason: str, since: date, detail: dict) -> int:
    from settlement.services.reschedule import day_start, deadlines_recompute_request

    return deadlines_recompute_request(
        reason=reason, calendar_id=calendar.pk, since=day_start(since), detail=detail
    ).pk


@transaction.atomic
def calendar_days_set(
    *, calendar: BusinessCalendar, days: Mapping[date, tuple[str, str]], source: str = "staff"
) -> CalendarChange:
    """Set days to holiday / workday / ordinary (kind, name). Unchanged days are left
    alone; a change inside a complete year records one recompute for all of them."""
    for day, (kind, _name) in days.items():
        if kind not in KINDS:
            raise CalendarEditError("invalid_day_kind", _("A day is a holiday, a workday or ordinary."))
        if not isinstance(day, date):
            raise CalendarEditError("invalid_date", _("Not a date."))
    existing = {d.date: d for d in CalendarDay.objects.select_for_update().filter(calendar=calendar, date__in=list(days))}
    changed: list[tuple[date, str]] = []
    audit: list[tuple[CalendarDay, int, dict]] = []  # (row, action, {field: [old, new]})
    for day, (kind, name) in sorted(days.items()):
        row = existing.get(day)
        if kind == ORDINARY:
            if row is not None:
                audit.append((row, LogEntry.Action.DELETE, {"kind": [row.kind, ORDINARY], "name": [row.name, ""]}))
                row.delete()
                changed.append((day, kind))
            continue
        name = (name or "").strip()[:100]
        if row is None:
            row = CalendarDay.objects.create(calendar=calendar, date=day, kind=kind, name=name)
            audit.append((row, LogEntry.Action.CREATE, {"kind": [ORDINARY, kind], "name": ["", name]}))
            changed.append((day, kind))
        elif (row.kind, row.name) != (kind, name or row.name):
            moved = row.kind != kind
            diff = {f: [old, new] for f, old, new in (("kind", row.kind, kind), ("name", row.name, name or row.name))
                    if old != new}
            row.kind, row.name = kind, name or row.name
            row.save(update_fields=["kind", "name"])
            audit.append((row, LogEntry.Action.UPDATE, diff))
            if moved:
                changed.append((day, kind))
    audit_days(calendar=calendar, rows=audit, source=source)
    if not changed:
        return CalendarChange([], None)
    _touched(calendar)
    counted = [(d, k) for d, k in changed if _year_complete(calendar, d.year)]
    recompute_id = None
    if counted:
        from settlement.models import DeadlineRecompute

        recompute_id = _request(
            calendar, reason=DeadlineRecompute.Reason.CALENDAR_DAY, since=min(d for d, _ in counted),
            detail={"days": [[d.isoformat(), k] for d, k in counted[:20]], "source": source},
        )
    return CalendarChange(changed, recompute_id)


def calendar_day_set(*, calendar: BusinessCalendar, day: date, kind: str, name: str = "",
                     source: str = "staff") -> CalendarChange:
    return calendar_days_set(calendar=calendar, days={day: (kind, name)}, source=source)


@transaction.atomic
def calendar_year_mark(*, calendar: BusinessCalendar, year: int, complete: bool, source: str = "staff") -> int | None:
    """Mark a year complete (or not). A change of state moves every deadline that looks
    at that year (the Monday-Friday fallback ends or starts): one recompute."""
    from settlement.models import DeadlineRecompute

    row, created = CalendarYear.objects.select_for_update().get_or_create(
        calendar=calendar, year=year, defaults={"complete": complete, "source": source[:100]}
    )
    if (created and not complete) or (not created and row.complete == complete):
        return None  # no row and an incomplete row both mean Monday-Friday: nothing moves
    if not created:
        row.complete = complete
        row.source = source[:100] or row.source
        row.save(update_fields=["complete", "source"])
    _touched(calendar)
    return _request(calendar, reason=DeadlineRecompute.Reason.CALENDAR_YEAR, since=date(year, 1, 1),
                    detail={"year": year, "complete": complete, "source": source[:100]})


@transaction.atomic
def calendar_year_replace(
    *, calendar: BusinessCalendar, year: int, holidays: Mapping[date, str], workdays: Mapping[date, str],
    complete: bool, source: str,
) -> CalendarChange:
    """Make a year exactly these holidays and make-up days (the seed, a pasted notice),
    then mark it complete or not; one recompute covers both when the year counts."""
    if any(d.year != year for d in [*holidays, *workdays]):
        raise CalendarEditError("day_outside_year", _("Every day must lie in %(year)s.") % {"year": year})
    wanted: dict[date, tuple[str, str]] = {
        d.date: (ORDINARY, "") for d in CalendarDay.objects.filter(calendar=calendar, date__year=year)
    }
    wanted.update({d: (CalendarDay.Kind.HOLIDAY, n) for d, n in holidays.items()})
    wanted.update({d: (CalendarDay.Kind.WORKDAY, n) for d, n in workdays.items()})
    change = calendar_days_set(calendar=calendar, days=wanted, source=source)
    marked = calendar_year_mark(calendar=calendar, year=year, complete=complete, source=source)
    return CalendarChange(change.changed, marked or change.recompute_id)


def channel_rules_changed(*, channel, fields, source: str = "staff") -> int | None:
    """A channel's settlement rules were saved (the admin): if any field that moves a
    stored deadline is among `fields`, one recompute of the channel's in-flight swipes,
    in the caller's transaction. Returns the DeadlineRecompute id, if any."""
    from settlement.models import DeadlineRecompute
    from settlement.services.reschedule import deadlines_recompute_request

    moved = [f for f in RULE_FIELDS if f in fields]
    if not moved:
        return None
    return deadlines_recompute_request(reason=DeadlineRecompute.Reason.CHANNEL_RULES, channel_id=channel.pk,
                                       detail={"fields": moved, "source": source[:100]}).pk


@transaction.atomic
def channel_rules_set(*, channel, source: str = "staff", **values) -> int | None:
    """Change a channel's settlement rules (cut-off, arrival-by, window, morning, grace,
    time zone, calendar) and record the recompute of what they move, in one transaction."""
    unknown = sorted(set(values) - set(RULE_FIELDS))
    if unknown:
        raise CalendarEditError("unknown_rule_field", _("Not a settlement rule: %(fields)s.") % {
            "fields": ", ".join(unknown)})
    changed = [name for name, value in values.items() if getattr(channel, name) != value]
    for name in changed:
        setattr(channel, name, values[name])
    if not changed:
        return None
    channel.save(update_fields=changed)
    return channel_rules_changed(channel=channel, fields=changed, source=source)
