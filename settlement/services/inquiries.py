"""Merchant inquiries ("my money has not arrived"): open a follow-up case about a swipe
or a bank credit, or join the open one, and add the merchant's messages to it."""

from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.utils import timezone

from merchants.models import Merchant
from settlement.models import CaseEntry, FollowUpCase, Payout, Transaction
from settlement.pan import contains_full_pan
from settlement.references import case_reference, provisional_case_reference

# Staff answer an inquiry within a day unless the queue (issue 5) sets a sharper SLA.
INQUIRY_SLA = timedelta(hours=24)
MAX_MESSAGE_CHARS = 2000


class InquiryError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class InquiryResult:
    case: FollowUpCase
    entry: CaseEntry
    joined: bool  # True when the message went to a case that was already open


def _clean(message: str) -> str:
    text = (message or "").strip()
    if not text:
        raise InquiryError("message_required", "Please say what is wrong.")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InquiryError("message_too_long", f"At most {MAX_MESSAGE_CHARS} characters.")
    if contains_full_pan(text):
        raise InquiryError("full_pan_forbidden", "Please do not write a full card number; the last 4 digits are enough.")
    return text


def _open_case_for(*, transaction: Transaction | None, payout: Payout | None) -> FollowUpCase | None:
    qs = FollowUpCase.objects.exclude(status=FollowUpCase.Status.RESOLVED)
    if transaction is not None:
        return qs.filter(transaction=transaction).first()
    return qs.filter(payout=payout, transaction__isnull=True).order_by("opened_at", "id").first()


def _add_message(*, case: FollowUpCase, user, text: str, now) -> CaseEntry:
    entry = CaseEntry.objects.create(
        case=case, kind=CaseEntry.Kind.MERCHANT_MESSAGE, author=user, body=text,
        visible_to_merchant=True, created_at=now,
    )
    FollowUpCase.objects.filter(pk=case.pk).update(last_action_at=now)
    from settlement.services.waiting import case_resume  # waiting -> cases -> notifications

    # The merchant answered: a case waiting on them runs its SLA clock again.
    case_resume(case=case, by=user, why="merchant_replied", only=[FollowUpCase.Status.WAITING_MERCHANT], now=now)
    return entry


def inquiry_open(
    *, user, merchant: Merchant, transaction: Transaction | None = None, payout: Payout | None = None, message: str
) -> InquiryResult:
    """Open an inquiry case about one swipe or one bank credit of `merchant`, or join the
    case already open for it. The conditional unique constraint `case_one_open_per_txn`
    settles a race with the late scanner or a second click: the loser joins the winner."""
    if (transaction is None) == (payout is None):
        raise InquiryError("target_required", "Ask about exactly one swipe or one bank credit.")
    target = transaction or payout
    if target.merchant_id != merchant.pk:
        raise InquiryError("not_found", "No such payment.")
    text = _clean(message)
    now = timezone.now()

    existing = _open_case_for(transaction=transaction, payout=payout)
    if existing is not None:
        with db_transaction.atomic():
            return InquiryResult(existing, _add_message(case=existing, user=user, text=text, now=now), True)
    try:
        with db_transaction.atomic():
            case = FollowUpCase.objects.create(
                reference=provisional_case_reference(),
                transaction=transaction,
                payout=payout,
                merchant=merchant,
                channel_id=target.channel_id,
                origin=FollowUpCase.Origin.INQUIRY,
                amount_at_stake=transaction.amount if transaction is not None else payout.amount,
                opened_at=now,
                sla_due_at=now + INQUIRY_SLA,
                last_action_at=now,
            )
            case.reference = case_reference(case.pk, now)
            FollowUpCase.objects.filter(pk=case.pk).update(reference=case.reference)
            CaseEntry.objects.create(
                case=case, kind=CaseEntry.Kind.OPENED, author=user, visible_to_merchant=True, created_at=now,
                data={"origin": FollowUpCase.Origin.INQUIRY},
            )
            entry = _add_message(case=case, user=user, text=text, now=now)
            return InquiryResult(case, entry, False)
    except IntegrityError:
        # Someone else opened the swipe's case between our look and our insert.
        existing = _open_case_for(transaction=transaction, payout=payout)
        if existing is None:
            raise
        with db_transaction.atomic():
            return InquiryResult(existing, _add_message(case=existing, user=user, text=text, now=now), True)


def inquiry_reply(*, user, merchant: Merchant, case: FollowUpCase, message: str) -> InquiryResult:
    """A merchant's follow-up message on one of its cases. A resolved case is not
    reopened: the message opens (or joins) a fresh case about the same payment so it
    reaches the staff queue."""
    if case.merchant_id != merchant.pk:
        raise InquiryError("not_found", "No such case.")
    if case.status == FollowUpCase.Status.RESOLVED:
        return inquiry_open(user=user, merchant=merchant, transaction=case.transaction, payout=case.payout, message=message)
    text = _clean(message)
    with db_transaction.atomic():
        return InquiryResult(case, _add_message(case=case, user=user, text=text, now=timezone.now()), True)
