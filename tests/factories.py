"""factory_boy factories. Transactions are built through the real service so their
expected arrival and captured event are right; status moves only through events."""

from datetime import timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from channels.models import Channel
from channels.services import calendar_seed_china, generate_secret
from merchants.models import Membership, Merchant, Terminal
from settlement.arrival import Cycle
from settlement.services.events import EventInput, events_apply
from settlement.services.transactions import NewTransaction, transaction_create


def china_calendar():
    from channels.models import BusinessCalendar

    return BusinessCalendar.objects.filter(code="CN").first() or calendar_seed_china()


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"acq{n}")
    name = factory.LazyAttribute(lambda o: f"Acquirer {o.code}")
    calendar = factory.LazyFunction(china_calendar)

    @factory.post_generation
    def secret(obj, create, extracted, **kwargs):
        if create:
            obj.secrets.get_or_create(secret=extracted or generate_secret())


class MerchantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Merchant

    merchant_no = factory.Sequence(lambda n: f"M{n:07d}")
    name = factory.Sequence(lambda n: f"小店 Shop {n}")
    channel = factory.SubFactory(ChannelFactory)
    settlement_cycle = Cycle.T1
    fee_rate_bps = 60
    account_bank = "招商银行"
    account_holder = "王小明"
    account_last4 = "6021"
    contact_email = factory.LazyAttribute(lambda o: f"{o.merchant_no.lower()}@example.com")


class TerminalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Terminal

    merchant = factory.SubFactory(MerchantFactory)
    serial_number = factory.Sequence(lambda n: f"SN{n:08d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-battery")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    merchant = factory.SubFactory(MerchantFactory)


_refs = iter(range(10**9))


def make_transaction(*, merchant=None, amount="128.00", captured_at=None, reference=None, terminal=None,
                     masked_pan="622202******1234"):
    merchant = merchant or MerchantFactory()
    return transaction_create(
        channel=merchant.channel,
        item=NewTransaction(
            # 10 digits: "<reference>-<n>" event ids stay shorter than a card number (13+).
            reference=reference or f"R{next(_refs):010d}",
            merchant=merchant,
            amount=Decimal(amount),
            captured_at=captured_at or timezone.now() - timedelta(hours=1),
            terminal=terminal,
            masked_pan=masked_pan,
        ),
    )


_event_ids = iter(range(10**9))


def push(txn, kind, occurred_at=None, *, event_id=None, source="push", **extra):
    """Apply one lifecycle event to a transaction through the one door."""
    result = events_apply(
        channel=txn.channel,
        events=[EventInput(
            event_id=event_id or f"ev{next(_event_ids)}",
            reference=txn.reference,
            type=kind,
            occurred_at=occurred_at or timezone.now(),
            **extra,
        )],
        source=source,
    )[0]
    txn.refresh_from_db()
    return result
