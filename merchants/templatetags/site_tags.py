from django import template
from django.conf import settings

from settlement.services.demo import DEMO_MERCHANT_USER, DEMO_STAFF_USER, demo_loaded

register = template.Library()


@register.inclusion_tag("registration/_demo_logins.html")
def demo_logins() -> dict:
    """The demo logins, only in demo mode (settings.DEMO_MODE) with the demo loaded."""
    show = settings.DEMO_MODE and demo_loaded()
    return {"logins": [DEMO_MERCHANT_USER, DEMO_STAFF_USER] if show else []}
