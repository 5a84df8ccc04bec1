from django import template

from settlement.services.recon_breaks import breaks_for_transactions

register = template.Library()


@register.inclusion_tag("settlement/staff/reconciliation/_case_breaks.html")
def reconciliation_breaks(txn) -> dict:
    """A case page's swipe: its reconciliation breaks, open and resolved (one query)."""
    return {"breaks": list(breaks_for_transactions([txn.pk]).select_related("channel")) if txn else []}
