from django import template

from merchants import presentation

register = template.Library()


@register.filter
def money(value) -> str:
    return presentation.money(value)


@register.filter
def status_label(value: str) -> str:
    return presentation.status_label(value)


@register.filter
def status_tone(txn) -> str:
    return presentation.status_tone(txn.status, bool(getattr(txn, "delayed_since", None)))


@register.simple_tag
def arrival_words(txn, merchant) -> str:
    return presentation.arrival_words(txn, merchant)


@register.filter
def moment(value) -> str:
    return presentation.moment_words(value) if value else ""
