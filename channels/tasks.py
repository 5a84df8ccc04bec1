"""Celery tasks of the channels app. Arguments are ids; the work is in services.
Reliability settings (acks_late, reject_on_worker_lost, prefetch 1) come from
config/settings.py; the database rows are the truth, so a lost or repeated task is
harmless: a poll only claims rows that are due, and event ids make answers idempotent.
"""

import socket

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from channels.replay import replays_purge
from channels.services import worker_heartbeat_record
from settlement.services.polling import channel_poll, channel_poll_mark_enqueued, channels_due_for_poll


@shared_task(name="channels.tasks.poll_channel")
def poll_channel(channel_id: int) -> dict:
    report = channel_poll(channel_id=channel_id)
    if report.more:  # a full last batch: more rows are due; poll again instead of looping here
        transaction.on_commit(lambda: poll_channel.delay(channel_id))
    return {"claimed": report.claimed, "applied": report.applied, "failed": report.failed}


@shared_task(name="channels.tasks.poll_due_channels")
def poll_due_channels() -> int:
    """Beat: one poll task per channel that has due rows and whose interval has passed."""
    now = timezone.now()
    queued = 0
    for channel_id, last_poll_at in channels_due_for_poll(now=now):
        if channel_poll_mark_enqueued(channel_id=channel_id, seen_last_poll_at=last_poll_at, now=now):
            transaction.on_commit(lambda cid=channel_id: poll_channel.delay(cid))
            queued += 1
    return queued


@shared_task(name="channels.tasks.purge_webhook_receipts")
def purge_webhook_receipts() -> int:
    """Beat: forget accepted webhook-ids once no signature over them is valid any more."""
    deleted, more = replays_purge(now=timezone.now())
    if more:
        transaction.on_commit(purge_webhook_receipts.delay)
    return deleted


@shared_task(name="channels.tasks.worker_heartbeat", bind=True)
def worker_heartbeat(self) -> None:
    """A round trip through the broker: if this row stops moving, workers are not consuming."""
    worker_heartbeat_record(name=self.request.hostname or socket.gethostname())


@shared_task(name="channels.tasks.noop")
def noop() -> None:
    """The Celery baseline of bench/polling.py."""
