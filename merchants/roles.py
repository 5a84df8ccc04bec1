"""What each membership role may open (DESIGN "Merchant accounts").

An owner sees everything of the shop. A cashier sees today's swipes and can find one:
no bank credits, no settlement account digits, no export, no questions or messages
(they are about money owed to the owner), no other shops' summary, no invitations.
Checked once, by URL name, in `merchants.views.merchant_view` and the merchant API's
`merchant_of`; `tests/merchants/test_roles.py` walks every route of both namespaces.
"""

from merchants.models import Membership

CASHIER_PAGES = frozenset({
    "merchants:home", "merchants:home-live", "merchants:switch", "merchants:swipes", "merchants:swipe",
    "merchants:glossary",
    "merchant-api:merchants", "merchant-api:today", "merchant-api:transactions", "merchant-api:transaction",
})


def is_owner(merchant) -> bool:
    """`merchant` comes from selectors.merchants_of, annotated with the user's role."""
    return getattr(merchant, "my_role", None) == Membership.Role.OWNER


def may_open(merchant, view_name: str) -> bool:
    return is_owner(merchant) or view_name in CASHIER_PAGES
