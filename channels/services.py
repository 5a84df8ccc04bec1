import base64
import secrets as pysecrets
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from channels.china import LIBRARY_VERSION, china_schedule
from channels.models import BusinessCalendar, Channel, ChannelSecret

CHINA_CALENDAR_CODE = "CN"
MAX_ACTIVE_SECRETS = 2  # the current secret and the one being rotated out


def china_years_to_seed() -> range:
    # The holidays package knows 调休 up to the current year; later years are guesses.
    return range(2020, timezone.now().year + 1)


@transaction.atomic
def calendar_seed_china(*, years: Iterable[int] | None = None) -> BusinessCalendar:
    """Create or refresh the mainland-China calendar from the `holidays` package.
    Only the years given are rewritten; other years (e.g. typed in by staff) stay.
    Through channels.calendar_edit, so deadlines that move are recomputed."""
    from channels.calendar_edit import calendar_year_replace

    calendar, _ = BusinessCalendar.objects.get_or_create(
        code=CHINA_CALENDAR_CODE, defaults={"name": "中国大陆 / Mainland China"}
    )
    years = list(years or china_years_to_seed())
    schedule = china_schedule(years, this_year=timezone.now().year)
    for year in years:
        calendar_year_replace(
            calendar=calendar, year=year,
            holidays={d: n for d, n in schedule.holidays.items() if d.year == year},
            workdays={d: n for d, n in schedule.workdays.items() if d.year == year},
            complete=year in schedule.announced_years, source=f"holidays {LIBRARY_VERSION}",
        )
    return calendar


def generate_secret() -> str:
    return "whsec_" + base64.b64encode(pysecrets.token_bytes(24)).decode()


@transaction.atomic
def channel_create(*, code: str, name: str, secret: str | None = None, **fields) -> tuple[Channel, str]:
    """Create a channel on the China calendar with one active signing secret."""
    calendar = BusinessCalendar.objects.filter(code=CHINA_CALENDAR_CODE).first() or calendar_seed_china()
    fields.setdefault("poll_secret", generate_secret())
    channel = Channel.objects.create(code=code, name=name, calendar=calendar, **fields)
    secret = secret or generate_secret()
    ChannelSecret.objects.create(channel=channel, secret=secret)
    return channel, secret


@transaction.atomic
def channel_rotate_secret(*, channel: Channel, secret: str | None = None) -> str:
    """Add a new active secret; keep only the newest MAX_ACTIVE_SECRETS active."""
    secret = secret or generate_secret()
    ChannelSecret.objects.create(channel=channel, secret=secret)
    active = list(
        ChannelSecret.objects.select_for_update()
        .filter(channel=channel, active=True)
        .order_by("-created_at", "-id")
    )
    for old in active[MAX_ACTIVE_SECRETS:]:
        old.active = False
        old.deactivated_at = timezone.now()
        old.save(update_fields=["active", "deactivated_at"])
    return secret


def channel_active_secrets(channel: Channel) -> list[str]:
    return list(channel.secrets.filter(active=True).order_by("-created_at").values_list("secret", flat=True))


# --- Poll health (issue 4) ----------------------------------------------------------
def channel_health_for(*, failures: int, current: str) -> str:
    """up -> degraded -> down as consecutive polls fail; one good poll is up again."""
    from django.conf import settings

    if failures == 0:
        return Channel.Health.UP
    if failures >= settings.CHANNEL_DOWN_AFTER:
        return Channel.Health.DOWN
    if failures >= settings.CHANNEL_DEGRADED_AFTER:
        return Channel.Health.DEGRADED
    return current


@transaction.atomic
def channel_record_poll(*, channel_id: int, ok: bool, error: str = "", now=None) -> str:
    """Record one poll's result and move the channel's health. Returns the new health.
    The row lock is short (no network inside); the delay-cause logic reads `health`,
    `health_changed_at` and `last_poll_error`."""
    import logging

    now = now or timezone.now()
    channel = Channel.objects.select_for_update().get(pk=channel_id)
    failures = 0 if ok else channel.consecutive_poll_failures + 1
    health = channel_health_for(failures=failures, current=channel.health)
    channel.consecutive_poll_failures = failures
    channel.last_poll_at = now
    if ok:
        channel.last_poll_ok_at = now
        channel.last_poll_error = ""
    else:
        channel.last_poll_error = error[:300]
    fields = ["consecutive_poll_failures", "last_poll_at", "last_poll_ok_at", "last_poll_error"]
    if health != channel.health:
        logging.getLogger(__name__).warning("channel %s health %s -> %s (%s)", channel.code, channel.health, health,
                                            error or "poll ok")
        channel.health = health
        channel.health_changed_at = now
        fields += ["health", "health_changed_at"]
    # An UPDATE, not save(): these are the poller's fields, excluded from the audit trail,
    # and save() would have auditlog read the row once more for a diff it then drops.
    Channel.objects.filter(pk=channel.pk).update(**{name: getattr(channel, name) for name in fields})
    return health


def worker_heartbeat_record(*, name: str, now=None) -> None:
    from channels.models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(name=name[:200], defaults={"beat_at": now or timezone.now()})
