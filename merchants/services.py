from dataclasses import dataclass

from django.db import transaction as db_transaction
from django.utils import timezone

from channels.models import Channel
from merchants.models import Merchant, Terminal
from settlement.models import Notification


class MerchantError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class MerchantData:
    name: str
    settlement_cycle: str
    account_bank: str = ""
    account_holder: str = ""
    account_last4: str = ""
    fee_rate_bps: int = 60
    contact_email: str = ""
    contact_phone: str = ""
    terminals: tuple[str, ...] | None = None  # None: leave the terminals as they are


@db_transaction.atomic
def merchant_upsert(*, channel: Channel, merchant_no: str, data: MerchantData) -> tuple[Merchant, bool]:
    """Create or update a merchant of this channel (the acquirer's PUT).

    With `terminals` given, those serials are the merchant's active terminals: new ones
    are added, missing ones deactivated (never deleted: past swipes point at them).
    A merchant_no that belongs to another channel is refused, not taken over.
    Returns (merchant, created).
    """
    fields = {
        "name": data.name, "settlement_cycle": data.settlement_cycle, "account_bank": data.account_bank,
        "account_holder": data.account_holder, "account_last4": data.account_last4,
        "fee_rate_bps": data.fee_rate_bps, "contact_email": data.contact_email, "contact_phone": data.contact_phone,
    }
    merchant = Merchant.objects.select_for_update().filter(merchant_no=merchant_no).first()
    created = merchant is None
    if merchant is None:
        # ON CONFLICT via get_or_create's IntegrityError retry: two concurrent PUTs of a new merchant.
        merchant, created = Merchant.objects.get_or_create(merchant_no=merchant_no, defaults={"channel": channel, **fields})
    if merchant.channel_id != channel.pk:
        raise MerchantError("merchant_other_channel", "This merchant_no belongs to another channel.")
    if not created:
        changed = [name for name, value in fields.items() if getattr(merchant, name) != value]
        for name in changed:
            setattr(merchant, name, fields[name])
        if changed:
            merchant.save(update_fields=[*changed, "updated_at"])
    if data.terminals is not None:
        _terminals_sync(merchant=merchant, serials=data.terminals)
    return merchant, created


def _terminals_sync(*, merchant: Merchant, serials: tuple[str, ...]) -> None:
    wanted = set(serials)
    Terminal.objects.bulk_create(
        [Terminal(merchant=merchant, serial_number=sn) for sn in sorted(wanted)], ignore_conflicts=True
    )
    Terminal.objects.filter(merchant=merchant, serial_number__in=wanted, active=False).update(active=True)
    Terminal.objects.filter(merchant=merchant, active=True).exclude(serial_number__in=wanted).update(active=False)



def notifications_mark_read(*, merchant: Merchant) -> int:
    """Marks the merchant's unread in-app notifications read; returns how many."""
    return Notification.objects.filter(merchant=merchant, read_at__isnull=True).update(read_at=timezone.now())
