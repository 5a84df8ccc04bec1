"""The daily pull of each channel's settlement file from the acquirer.

From RECON_PULL_AFTER_HOUR (channel local time) on the day after a business date, a pull
row per channel and date is due; it is fetched, and retried every RECON_PULL_RETRY_MINUTES
until the file arrives. Still missing RECON_PULL_MISSING_AFTER_HOURS after it was first
due, it opens a file_missing break (which the file's run resolves when it comes).
The GET is signed like a status poll and its answer verified (channels/polling.py).
Rows are claimed with SKIP LOCKED and leased by moving next_attempt_at, so no lock is
held across the HTTP request and two workers never fetch the same file.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from channels.models import Channel
from channels.polling import PollFailed, settlement_file_fetch
from channels.selectors import poll_signing_for
from settlement.models import SettlementFile, SettlementFilePull
from settlement.services.recon_breaks import break_open_file_missing
from settlement.services.reconciliation import SettlementFileError, settlement_file_receive

log = logging.getLogger(__name__)
PULL_BATCH = 20


@dataclass
class PullReport:
    scheduled: int = 0
    fetched: int = 0
    waiting: int = 0
    missing_breaks: int = 0


def settlement_file_url(channel: Channel, day: date) -> str:
    """The acquirer's file URL, next to its status API: .../{code}/status -> .../{code}/settlement-files/{day}."""
    url = channel.poll_url.rstrip("/")
    if not url.endswith("/status"):
        return ""
    return f"{url[: -len('/status')]}/settlement-files/{day.isoformat()}"


def pulls_schedule(*, now: datetime) -> int:
    """Create the pull rows that are due by now (idempotent: one row per channel and date).
    After downtime, the dates missed since a channel's last pull row are scheduled too
    (bounded by RECON_PULL_CATCHUP_DAYS; dates that already have a current file are skipped);
    a channel never pulled before starts with the latest date only."""
    lag = settings.RECON_PULL_LAG_DAYS
    channels = list(Channel.objects.filter(poll_enabled=True).exclude(poll_url="").only("id", "timezone", "poll_url"))
    last = dict(SettlementFilePull.objects.filter(channel__in=channels).values("channel_id")
                .annotate(last=Max("business_date")).values_list("channel_id", "last"))
    floor = (now - timedelta(days=settings.RECON_PULL_CATCHUP_DAYS + lag + 1)).date()
    filed = set(SettlementFile.objects.filter(channel__in=channels, is_current=True, business_date__gte=floor)
                .values_list("channel_id", "business_date"))
    rows = []
    for channel in channels:
        local = now.astimezone(ZoneInfo(channel.timezone))
        latest = local.date() - timedelta(days=lag)
        if not settlement_file_url(channel, latest):
            continue
        first = latest
        if channel.pk in last:
            first = max(last[channel.pk] + timedelta(days=1),
                        latest - timedelta(days=settings.RECON_PULL_CATCHUP_DAYS - 1))
        for offset in range((latest - first).days + 1):
            day = first + timedelta(days=offset)
            due = datetime.combine(day + timedelta(days=lag), time(settings.RECON_PULL_AFTER_HOUR),
                                   tzinfo=local.tzinfo)
            if now < due or (day != latest and (channel.pk, day) in filed):
                continue
            # Followed during its own day (lag 0), the file is missing only when its final
            # version has not come by the next day's hour, not from the first try on.
            final_due = due if lag else due + timedelta(days=1)
            rows.append(SettlementFilePull(
                channel=channel, business_date=day, next_attempt_at=due,
                missing_after=final_due + timedelta(hours=settings.RECON_PULL_MISSING_AFTER_HOURS),
            ))
    created = SettlementFilePull.objects.bulk_create(rows, ignore_conflicts=True)
    return len(created)


def _claim(now: datetime, limit: int) -> list[SettlementFilePull]:
    lease = now + timedelta(minutes=settings.RECON_PULL_RETRY_MINUTES)
    with transaction.atomic():
        rows = list(SettlementFilePull.objects.select_for_update(skip_locked=True)
                    .filter(done_at__isnull=True, next_attempt_at__lte=now)
                    .select_related("channel").order_by("next_attempt_at")[:limit])
        SettlementFilePull.objects.filter(pk__in=[r.pk for r in rows]).update(next_attempt_at=lease)
    return rows


def pulls_run(*, now: datetime | None = None, limit: int = PULL_BATCH) -> PullReport:
    now = now or timezone.now()
    report = PullReport(scheduled=pulls_schedule(now=now))
    for pull in _claim(now, limit):
        outcome = _pull_one(pull, now)
        if outcome == "fetched":
            report.fetched += 1
        else:
            report.waiting += 1
            if pull.file_id is None and now >= pull.missing_after and break_open_file_missing(
                    channel_id=pull.channel_id, business_date=pull.business_date, now=now,
                    detail=f"No settlement file after {pull.attempts} attempt(s): {pull.last_error}"):
                report.missing_breaks += 1
    return report


def _intraday(pull: SettlementFilePull, now: datetime) -> bool:
    """With RECON_PULL_LAG_DAYS=0 today's file is pulled again every retry interval until the
    day is over: each new version supersedes the last (an unchanged one is a duplicate)."""
    return settings.RECON_PULL_LAG_DAYS == 0 and now.astimezone(
        ZoneInfo(pull.channel.timezone)).date() <= pull.business_date


def _pull_one(pull: SettlementFilePull, now: datetime) -> str:
    channel = pull.channel
    intraday = _intraday(pull, now)
    # A file that came another way (API, upload) is the pull's, unless the pull has been
    # following an intraday file: then the day's final version is fetched once more.
    done = None if intraday or pull.file_id else SettlementFile.objects.filter(
        channel=channel, business_date=pull.business_date, is_current=True).first()
    if done is None:
        try:
            raw = settlement_file_fetch(url=settlement_file_url(channel, pull.business_date),
                                        signing=poll_signing_for(channel))
        except PollFailed as exc:  # unsigned or forged answers included: a failed pull, never data
            return _wait(pull, exc.code)
        try:
            done = settlement_file_receive(
                channel=channel, raw=raw, business_date=pull.business_date, source="pull",
                filename=f"{channel.code}-{pull.business_date}.csv", now=now,
            ).file
        except SettlementFileError as exc:
            log.warning("settlement file %s %s refused: %s", channel.code, pull.business_date, exc.code)
            return _wait(pull, f"refused: {exc.code}")
    SettlementFilePull.objects.filter(pk=pull.pk).update(done_at=None if intraday else now, file=done,
                                                         attempts=pull.attempts + 1, last_error="")
    return "fetched"


def _wait(pull: SettlementFilePull, error: str) -> str:
    pull.attempts += 1
    pull.last_error = error[:200]
    SettlementFilePull.objects.filter(pk=pull.pk).update(attempts=pull.attempts, last_error=pull.last_error)
    return "waiting"
