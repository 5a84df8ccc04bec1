"""What the merchant pages call each status, and what it means, in words a shop owner
uses (README "Merchant dashboard: what each number means" has the mapping).

Acquirer apps say 已结算 when the money has been paid to the merchant, so our `settled`
(the acquirer has paid it out, the bank has not credited it yet) is "待银行入账" here,
never 已结算: a late swipe must not look paid. Staff pages keep the model's labels.
"""

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from settlement.lifecycle import Status


@dataclass(frozen=True)
class Term:
    key: str
    label: Promise
    meaning: Promise
    tone: str  # the badge colour: ok (money is here), wait (on its way), bad (a problem), muted (no money due)


SWIPE_TERMS = (
    Term(Status.CAPTURED, _("Card swiped"),
         _("The card was swiped on your terminal. The acquirer will collect it with the day's other swipes."), "wait"),
    Term(Status.CLEARED, _("Cleared"),
         _("The card network has cleared the swipe with the card's bank. The money has not been paid to you yet."),
         "wait"),
    Term(Status.SETTLED, _("Sent to your bank"),
         _("The acquirer has settled it and sent the money to your bank; your bank has not credited your account yet. "
           "Some acquirer apps already call this 已结算 (settled)."), "wait"),
    Term(Status.CREDITED, _("In your bank"),
         _("The money is in your bank account (到账). This is final."), "ok"),
    Term(Status.HELD, _("Held by risk control"),
         _("The acquirer's risk control has held the payment. We show it here until it is released."), "bad"),
    Term(Status.RETURNED, _("Returned by bank"),
         _("Your bank sent the money back, often because of the account details. It is paid again once fixed."), "bad"),
    Term(Status.REVERSED, _("Reversed"),
         _("The swipe was cancelled before it was cleared. No money is due for it."), "muted"),
    Term(Status.REFUNDED, _("Refunded"),
         _("The money went back to the cardholder. No money is due for it."), "muted"),
    Term("late", _("Late"),
         _("Not in your bank by the time we expected it, plus the acquirer's grace period. Our staff follow it up "
           "and tell you the new estimate."), "bad"),
)

CREDIT_TERMS = (
    Term("pending", _("Being prepared"), _("The acquirer is putting this bank credit together."), "wait"),
    Term("sent", _("Sent to bank"), _("The acquirer has sent this credit to your bank; it is not in your account yet."),
         "wait"),
    Term("credited", _("In your bank"), _("The bank credit is in your account."), "ok"),
    Term("returned", _("Returned by bank"), _("Your bank sent this credit back; it is paid again once fixed."), "bad"),
)

CASE_TERMS = (
    Term("open", _("Open"), _("We have your question or found the late payment, and will pick it up soon."), "wait"),
    Term("claimed", _("In progress"), _("A member of our staff is working on it."), "wait"),
    Term("escalated", _("Escalated"), _("It needs a senior colleague or the acquirer; it is still being followed."),
         "wait"),
    Term("resolved", _("Resolved"), _("Done. The outcome is on the case."), "ok"),
)

_SWIPE = {t.key: t for t in SWIPE_TERMS}
_CREDIT = {t.key: t for t in CREDIT_TERMS}
_CASE = {t.key: t for t in CASE_TERMS}


def swipe_label(status: str) -> str:
    term = _SWIPE.get(status)
    return str(term.label) if term else status


def credit_label(status: str) -> str:
    term = _CREDIT.get(status)
    return str(term.label) if term else status


def credit_tone(status: str) -> str:
    term = _CREDIT.get(status)
    return term.tone if term else "wait"


def case_tone(status: str) -> str:
    term = _CASE.get(status)
    return term.tone if term else "wait"
