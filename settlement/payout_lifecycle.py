"""The status lifecycle of a payout (合并到账) as a table, checked in one place.

pending -> sent -> credited          (credited = the bank credit arrived, final)
sent -> returned -> sent again       (the bank sent it back; re-paid after the fix)

A move not in the table (backwards, or out of credited) and a status older than the
one we hold are "stale": stored in the payout's trail, never applied. Pure: no database.
"""

from datetime import datetime

from django.db import models
from django.utils.translation import gettext_lazy as _


class PayoutStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent to bank")
    CREDITED = "credited", _("Credited")
    RETURNED = "returned", _("Returned by bank")


# Where each status may go next. A returned payout that the acquirer reports credited
# was re-sent in between (the "sent again" post may still be in flight).
ALLOWED_MOVES: dict[str, frozenset[str]] = {
    PayoutStatus.PENDING: frozenset({PayoutStatus.SENT, PayoutStatus.CREDITED}),
    PayoutStatus.SENT: frozenset({PayoutStatus.CREDITED, PayoutStatus.RETURNED}),
    PayoutStatus.RETURNED: frozenset({PayoutStatus.SENT, PayoutStatus.CREDITED}),
    PayoutStatus.CREDITED: frozenset(),
}

# The system credits a payout itself when the acquirer has credited every swipe in it
# (at least one) while the payout still says pending or sent. Recorded as the `rule`
# of its PayoutEvent and shown to merchants.
CREDITED_BY_SWIPES_RULE = "credited_by_swipes"
CREDITED_BY_SWIPES_FROM = frozenset({PayoutStatus.PENDING, PayoutStatus.SENT})


class Verdict(models.TextChoices):
    APPLIED = "applied", _("Applied")
    STALE = "stale", _("Stale")  # stored in the trail, changed nothing
    UNCHANGED = "unchanged", _("Unchanged")  # the status we already hold: nothing to record


def payout_judge(*, current: str, current_at: datetime | None, new: str, new_at: datetime) -> str:
    """What a reported status `new` (happened at `new_at`) does to a payout that is
    `current` since `current_at`."""
    if new == current:
        if current == PayoutStatus.CREDITED or current_at is None or new_at >= current_at:
            return Verdict.UNCHANGED  # a retry, or a later report of the same status
        return Verdict.STALE  # e.g. the first "sent" again after a return and a re-send
    if new not in ALLOWED_MOVES[current]:
        return Verdict.STALE
    if current_at is not None and new_at < current_at:
        return Verdict.STALE  # a late, older status
    return Verdict.APPLIED
