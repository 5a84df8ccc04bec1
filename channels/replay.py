"""The replay store: an accepted signed write answers its stored result when the same
`webhook-id` comes again inside the signature window, and is never applied twice.

A signature is valid while its timestamp is within WEBHOOK_TOLERANCE_SECONDS of our
clock, on either side, so one delivery can be replayed for up to twice that long:
receipts are kept for twice the tolerance plus WEBHOOK_REPLAY_MARGIN_SECONDS.

The request's own transaction inserts its receipt first (unique per channel and id)
and writes the answer last: a concurrent copy waits on that unique index until the
first commits, then answers the stored result; a first delivery that crashed (kill -9,
a 500) rolled its receipt back with everything else, so its retry is processed afresh.
"""

import hashlib
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db import transaction as db_transaction

from channels.models import Channel, WebhookReceipt


@dataclass(frozen=True)
class Claim:
    outcome: str  # "claimed", "replay", "reused"
    receipt_id: int
    status_code: int | None = None
    answer: bytes = b""


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


def replay_keep() -> timedelta:
    return timedelta(seconds=2 * settings.WEBHOOK_TOLERANCE_SECONDS + settings.WEBHOOK_REPLAY_MARGIN_SECONDS)


def replay_claim(*, channel: Channel, webhook_id: str, fingerprint: str, now: datetime) -> Claim:
    if connection.vendor == "postgresql":
        # One statement for a first delivery (get_or_create costs a SELECT and a
        # savepoint around its INSERT). A concurrent copy waits on the unique index here
        # until the first commits (then reads its answer) or rolls back (then claims).
        table = WebhookReceipt._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (channel_id, webhook_id, fingerprint, received_at, status_code, answer) "
                "VALUES (%s, %s, %s, %s, NULL, %s) ON CONFLICT (channel_id, webhook_id) DO NOTHING RETURNING id",
                [channel.pk, webhook_id, fingerprint, now, b""],
            )
            row = cursor.fetchone()
        if row is not None:
            return Claim("claimed", row[0])
        receipt = WebhookReceipt.objects.get(channel=channel, webhook_id=webhook_id)
    else:  # the embedded SQLite default
        receipt, created = WebhookReceipt.objects.get_or_create(
            channel=channel, webhook_id=webhook_id, defaults={"fingerprint": fingerprint, "received_at": now}
        )
        if created:
            return Claim("claimed", receipt.pk)
    if receipt.fingerprint != fingerprint:
        return Claim("reused", receipt.pk)
    # Committed receipts always hold their answer (written in the same transaction).
    return Claim("replay", receipt.pk, receipt.status_code, zlib.decompress(bytes(receipt.answer)))


def replay_record(*, claim: Claim, status_code: int, answer: bytes) -> None:
    """Inside the request's transaction: keep a success for replays; forget a failure
    (it applied nothing, so a retry is processed afresh)."""
    # Plain SQL: the ORM's update compiled to the same statement at ~0.5 ms of Python a push.
    table = WebhookReceipt._meta.db_table
    with connection.cursor() as cursor:
        if 200 <= status_code < 300:
            cursor.execute(
                f"UPDATE {table} SET status_code = %s, answer = %s WHERE id = %s AND status_code IS NULL",
                [status_code, zlib.compress(answer, 1), claim.receipt_id],  # level 1: a fraction of the CPU
            )
        else:
            cursor.execute(f"DELETE FROM {table} WHERE id = %s AND status_code IS NULL", [claim.receipt_id])


def replays_purge(*, now: datetime, batch: int = 5000) -> tuple[int, bool]:
    """Delete receipts past their keep, a bounded batch at a time; (deleted, more)."""
    with db_transaction.atomic():
        ids = list(
            WebhookReceipt.objects.filter(received_at__lt=now - replay_keep())
            .order_by("received_at").values_list("id", flat=True)[:batch]
        )
        deleted, _ = WebhookReceipt.objects.filter(id__in=ids).delete()
    return deleted, len(ids) == batch
