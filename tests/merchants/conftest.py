"""A shop with a day of swipes in every state, and another shop whose data must never
show (every marker of it contains SECRET or 7777.77)."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.utils import timezone

from merchants.models import Merchant, Terminal
from settlement.models import CaseEntry, FollowUpCase, Notification, Payout, Transaction
from settlement.references import case_reference
from tests.factories import MembershipFactory, MerchantFactory, TerminalFactory, UserFactory, make_transaction, push


@dataclass
class Shop:
    merchant: Merchant
    terminal: Terminal
    credited: Transaction
    on_the_way: Transaction
    late: Transaction
    payout: Payout
    case: FollowUpCase
    notification: Notification


def detected_case(txn: Transaction, *, now=None) -> FollowUpCase:
    """What the delay detector (issue 5) leaves behind: the swipe flagged late, a case."""
    now = now or timezone.now()
    Transaction.objects.filter(pk=txn.pk).update(delayed_since=now)
    txn.refresh_from_db()
    case = FollowUpCase.objects.create(
        reference=f"tmp-{txn.pk}", transaction=txn, merchant=txn.merchant, channel=txn.channel,
        cause=FollowUpCase.Cause.BANK_PROCESSING, amount_at_stake=txn.net, opened_at=now,
        sla_due_at=now + timedelta(hours=4), last_action_at=now,
    )
    case.reference = case_reference(case.pk, now)
    case.save(update_fields=["reference"])
    CaseEntry.objects.create(case=case, kind=CaseEntry.Kind.STAFF_REPLY, body="已联系银行 We asked the bank.",
                             visible_to_merchant=True, created_at=now)
    CaseEntry.objects.create(case=case, kind=CaseEntry.Kind.NOTE, body="internal note: acquirer slow",
                             visible_to_merchant=False, created_at=now)
    return case


def build_shop(merchant: Merchant, *, tag: str = "", amount_late: str = "1280.00", secret: bool = False) -> Shop:
    now = timezone.now()
    terminal = TerminalFactory(merchant=merchant, serial_number=f"SN{tag}{merchant.pk:05d}")
    # Early today in the merchant's time zone (Asia/Shanghai), whatever the UTC date.
    local = timezone.localtime(now)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    since_midnight = now - midnight
    early = midnight + min(timedelta(minutes=30), since_midnight / 4)
    step = (now - early) / 5
    recent = now - min(timedelta(minutes=30), since_midnight / 8)
    credited = make_transaction(merchant=merchant, amount="7777.77" if secret else "300.00", terminal=terminal,
                                captured_at=early, reference=f"{tag}100", masked_pan="622202******4321")
    on_the_way = make_transaction(merchant=merchant, amount="58.50", terminal=terminal,
                                  captured_at=recent, reference=f"{tag}101")
    late = make_transaction(merchant=merchant, amount=amount_late, terminal=terminal,
                            captured_at=now - timedelta(days=3), reference=f"{tag}102", masked_pan="622848******8888")
    payout = Payout.objects.create(channel=merchant.channel, reference=f"P{tag}{merchant.pk}", merchant=merchant,
                                   amount=credited.net, status=Payout.Status.CREDITED, sent_at=now, credited_at=now)
    push(credited, "cleared", early + step)
    push(credited, "settled", early + 2 * step, payout_reference=payout.reference)
    push(credited, "credited", early + 3 * step, payout_reference=payout.reference)
    push(late, "cleared", now - timedelta(days=3) + timedelta(minutes=10))
    case = detected_case(late)
    note = Notification.objects.create(merchant=merchant, transaction=late, case=case, kind=Notification.Kind.LATE,
                                       created_at=now)
    return Shop(merchant, terminal, credited, on_the_way, late, payout, case, note)


@pytest.fixture
def shop(merchant, merchant_user) -> Shop:
    return build_shop(merchant, tag="A")


@pytest.fixture
def other_shop(db) -> Shop:
    other = MerchantFactory(name="SECRET 别家店 Other Shop")
    user = UserFactory(username="other-owner")
    MembershipFactory(user=user, merchant=other)
    return build_shop(other, tag="SECRET", secret=True, amount_late="4444.44")
