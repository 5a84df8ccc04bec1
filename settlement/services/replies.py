"""What staff tell the merchant on a case: replies (the merchant sees them and gets a
notification), a new expected arrival (future-only, with who set it and why), reply
templates filled with the case's facts, and the scan that notices a promised arrival
passing without the money. Internal notes stay in services/cases.py."""

import string
from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction as db_transaction
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from settlement.lifecycle import FINAL_STATUSES
from settlement.models import CaseEntry, FollowUpCase, Notification, ReplyTemplate
from settlement.pan import contains_full_pan
from settlement.services.cases import CaseError, _entry, _require_open, _touch
from settlement.services.notifications import notifications_create

MAX_REPLY_CHARS = 5000
MISSED_BATCH = 500


def _notify(case: FollowUpCase, topic: str, now: datetime, **facts) -> list[int]:
    """One CASE_UPDATE row for the merchant; the facts render in the reader's language."""
    data = {"topic": topic, "case_reference": case.reference, **facts}
    return notifications_create(kind=Notification.Kind.CASE_UPDATE,
                                items=[(case.merchant_id, case.transaction_id, case.pk, data)], now=now)


def _clean_text(text: str, *, code: str, empty: str) -> str:
    text = (text or "").strip()
    if not text:
        raise CaseError(code, empty)
    if len(text) > MAX_REPLY_CHARS:
        raise CaseError("text_too_long", _("At most %(n)s characters.") % {"n": MAX_REPLY_CHARS})
    if contains_full_pan(text):
        raise CaseError("full_pan_forbidden", _("Do not write a full card number; the last 4 digits are enough."))
    return text


@db_transaction.atomic
def case_reply(*, case: FollowUpCase, by: AbstractBaseUser, body: str, now: datetime | None = None) -> CaseEntry:
    """A reply to the merchant: on their case page and in their notifications."""
    now = now or timezone.now()
    body = _clean_text(body, code="empty_reply", empty=_("A reply needs some text."))
    _require_open(case, _touch(case, now))
    entry = _entry(case, CaseEntry.Kind.STAFF_REPLY, by=by, now=now, body=body, visible_to_merchant=True)
    _notify(case, "reply", now, message=body)
    return entry


@db_transaction.atomic
def case_set_new_arrival(*, case: FollowUpCase, by: AbstractBaseUser, at: datetime, reason: str,
                         now: datetime | None = None) -> FollowUpCase:
    """Promise the merchant a new arrival time. Only a future instant; setting it again
    re-arms the missed-arrival scan."""
    now = now or timezone.now()
    if at is None or timezone.is_naive(at):
        raise CaseError("naive_datetime", _("Give the new arrival as a date and time."))
    if at <= now:
        raise CaseError("arrival_in_past", _("The new expected arrival must be in the future."))
    reason = _clean_text(reason, code="reason_required", empty=_("Say why the money will arrive then."))[:300]
    if case.transaction_id and case.transaction.status in FINAL_STATUSES:
        raise CaseError("swipe_final", _("This swipe is final: there is no arrival left to promise."))
    _require_open(case, _touch(case, now, new_expected_by=at, new_expected_reason=reason, new_expected_set_by=by,
                               new_expected_set_at=now, arrival_missed_at=None))
    _entry(case, CaseEntry.Kind.NEW_ARRIVAL, by=by, now=now, body=reason, visible_to_merchant=True,
           data={"at": at.isoformat()})
    _notify(case, "new_arrival", now, new_expected_by=at.isoformat(), reason=reason)
    case.refresh_from_db()
    return case


def cases_arrival_missed(*, now: datetime | None = None, limit: int = MISSED_BATCH) -> int:
    """Open cases whose promised arrival passed (the money would have closed the case):
    escalate them (back to the top of the queue) and tell the merchant, once each.
    A short range of case_promise_unmissed; SKIP LOCKED so concurrent runs split rows."""
    now = now or timezone.now()
    with db_transaction.atomic():
        rows = list(
            FollowUpCase.objects.select_for_update(skip_locked=True)
            .filter(new_expected_by__lt=now, arrival_missed_at__isnull=True)
            # A waiting case is found once its wait ends (the row stays due until then).
            .filter(status__in=[FollowUpCase.Status.OPEN, FollowUpCase.Status.CLAIMED, FollowUpCase.Status.ESCALATED])
            .order_by("new_expected_by")
            .values_list("id", "merchant_id", "transaction_id", "reference", "new_expected_by")[:limit]
        )
        if not rows:
            return 0
        FollowUpCase.objects.filter(id__in=[r[0] for r in rows]).update(
            arrival_missed_at=now, status=FollowUpCase.Status.ESCALATED, last_action_at=now,
            escalated_at=Coalesce("escalated_at", now),
        )
        CaseEntry.objects.bulk_create([
            CaseEntry(case_id=r[0], kind=CaseEntry.Kind.ARRIVAL_MISSED, created_at=now, visible_to_merchant=True,
                      data={"at": r[4].isoformat(), "automatic": True})
            for r in rows
        ])
        notifications_create(kind=Notification.Kind.CASE_UPDATE, items=[
            (r[1], r[2], r[0], {"topic": "arrival_missed", "case_reference": r[3], "new_expected_by": r[4].isoformat()})
            for r in rows
        ], now=now)
    return len(rows)


def _local(value: str, tz: str) -> str:
    parsed = parse_datetime(value) if value else None
    return parsed.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if parsed else ""


def case_update_render(data: dict, *, tz: str) -> tuple[str, str] | None:
    """(title, body) of a CASE_UPDATE notification written by this module, else None."""
    topic = data.get("topic")
    facts = {"case": data.get("case_reference", ""), "when": _local(data.get("new_expected_by", ""), tz),
             "reason": data.get("reason", "")}
    if topic == "reply":
        return _("Support replied on case %(case)s") % facts, data.get("message", "")
    if topic == "new_arrival":
        return (_("New expected arrival for case %(case)s") % facts,
                _("We now expect the money in your bank account by %(when)s. Why: %(reason)s") % facts)
    if topic == "arrival_missed":
        return (_("Case %(case)s: the money has not arrived yet") % facts,
                _("We expected the money by %(when)s and it has not arrived. Our supervisors are on it "
                  "and will update you.") % facts)
    if topic == "incident_update":
        lines = [data.get("message", "")]
        for reference, when in data.get("revised", []):
            lines.append(_("Swipe %(reference)s: now expected by %(when)s") % {"reference": reference,
                                                                              "when": _local(when, tz)})
        return _("Update on the delay affecting your payments (%(case)s)") % facts, "\n".join(lines)
    return None


# --- reply templates (macros) ------------------------------------------------------
class _Facts(dict):
    def __missing__(self, key: str) -> str:  # an unknown placeholder stays visible
        return "{" + key + "}"


def template_facts(case: FollowUpCase, *, language: str) -> dict:
    tz = ZoneInfo(case.merchant.timezone)
    txn = case.transaction

    def local(value):
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M") if value else ""

    with translation.override(language):
        return {
            "merchant_name": case.merchant.name,
            "amount": f"¥{(txn.amount if txn else case.amount_at_stake):,.2f}",
            "expected_by": local(txn.expected_by if txn else None),
            "new_expected_by": local(case.new_expected_by) or _("as soon as possible"),
            "case_reference": case.reference,
            "cause": str(FollowUpCase.Cause(case.cause).label),
        }


def reply_template_fill(template: ReplyTemplate, *, case: FollowUpCase, language: str | None = None) -> str:
    """The template's text in the merchant's language with the case's facts filled in."""
    language = language or case.merchant.language
    body = template.body_zh if language.startswith("zh") else template.body_en
    try:
        return string.Formatter().vformat(body, (), _Facts(template_facts(case, language=language)))
    except (ValueError, IndexError):  # a stray brace in the template: show it as written
        return body


def reply_templates_active() -> list[ReplyTemplate]:
    return list(ReplyTemplate.objects.filter(Q(active=True)).order_by("name"))
