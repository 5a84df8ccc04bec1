import time
from datetime import date

from django.db.models import Exists, OuterRef, QuerySet

from channels.business_days import BusinessDays
from channels.models import BusinessCalendar, CalendarDay, CalendarYear, Channel, ChannelSecret
from channels.poll_signing import PollSigning

# Per-process cache of calendar snapshots, keyed by the calendar's updated_at so an
# edit in the admin is seen within CACHE_SECONDS at most.
CACHE_SECONDS = 60.0
_cache: dict[int, tuple[float, BusinessDays]] = {}


def business_days_for(calendar_id: int, *, use_cache: bool = True) -> BusinessDays:
    now = time.monotonic()
    hit = _cache.get(calendar_id)
    if use_cache and hit and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    known = CalendarYear.objects.filter(calendar_id=calendar_id, complete=True).values_list("year", flat=True)
    holidays: dict = {}
    workdays: dict = {}
    for day, kind, name in CalendarDay.objects.filter(calendar_id=calendar_id).values_list("date", "kind", "name"):
        (workdays if kind == CalendarDay.Kind.WORKDAY else holidays)[day] = name
    snapshot = BusinessDays.build(holidays=holidays, workdays=workdays, known_years=known)
    _cache[calendar_id] = (now, snapshot)
    return snapshot


def clear_calendar_cache() -> None:
    _cache.clear()


def calendar_by_code(code: str) -> BusinessCalendar | None:
    return BusinessCalendar.objects.filter(code=code).first()


def next_year_watched(today: date) -> bool:
    """From 1 November on (when China's State Council usually publishes the schedule)
    next year's calendars are a task until they are complete."""
    return today.month >= 11


def with_next_year_complete(channels: QuerySet[Channel], *, today: date) -> QuerySet[Channel]:
    """`channels` with `next_year_complete` (their calendar's next year is marked
    complete) while next_year_watched; unchanged before that."""
    if not next_year_watched(today):
        return channels
    done = CalendarYear.objects.filter(calendar_id=OuterRef("calendar_id"), year=today.year + 1, complete=True)
    return channels.annotate(next_year_complete=Exists(done))


def calendars_missing_among(channels, *, today: date) -> list[BusinessCalendar]:
    """The calendars of `channels` (read through with_next_year_complete, calendar
    loaded) whose next year is not complete, by code; empty before 1 November."""
    if not next_year_watched(today):
        return []
    missing = {c.calendar.code: c.calendar for c in channels if not c.next_year_complete}
    return [missing[code] for code in sorted(missing)]


def calendars_missing_next_year(*, today: date) -> list[BusinessCalendar]:
    """Calendars of channels whose next year is not marked complete, from 1 November on.
    Used by /healthz (`calendar_next_year`); the staff queue reads the same from the
    channel list it loads anyway (staff.selectors.queue_channels)."""
    if not next_year_watched(today):
        return []  # no query
    channels = with_next_year_complete(Channel.objects.select_related("calendar"), today=today)
    return calendars_missing_among(channels, today=today)


def poll_signing_for(channel: Channel) -> PollSigning:
    """How a status poll of this channel is signed and its answer verified."""
    answer_secrets = ChannelSecret.objects.filter(channel=channel, active=True).order_by("-created_at")
    return PollSigning(request_secret=channel.poll_secret,
                       answer_secrets=tuple(answer_secrets.values_list("secret", flat=True)))
