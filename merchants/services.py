from django.utils import timezone

from merchants.models import Merchant
from settlement.models import Notification


def notifications_mark_read(*, merchant: Merchant) -> int:
    """Marks the merchant's unread in-app notifications read; returns how many."""
    return Notification.objects.filter(merchant=merchant, read_at__isnull=True).update(read_at=timezone.now())
