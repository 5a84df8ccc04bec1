from functools import cache

from django import template
from django.urls import get_script_prefix, reverse

from merchants import glossary, presentation

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


@register.simple_tag
def money_equation(today) -> str:
    """"¥2,007.90 刷卡 − ¥12.05 手续费 = ¥1,995.85：已到账 ¥1,570.25 + 在途 ¥425.60", each
    amount in its own nowrap span so a phone never breaks a number in the middle."""
    return presentation.money_equation(today)


@register.simple_tag
def coming_words(coming) -> str:
    return presentation.coming_words(coming)


@register.filter
def event_label(value: str) -> str:
    return presentation.event_label(value)


@register.filter
def credit_label(value: str) -> str:
    return glossary.credit_label(value)


@register.filter
def credit_tone(value: str) -> str:
    return glossary.credit_tone(value)


@register.filter
def case_tone(value: str) -> str:
    return glossary.case_tone(value)


@register.simple_tag
def glossary_url(kind: str, key: str) -> str:
    """Every status badge links to its entry on the glossary page. Reversed once per
    script prefix: a list page has a badge on each of up to 100 rows."""
    return f"{_glossary_path(get_script_prefix())}#{kind}-{key}"


@cache
def _glossary_path(prefix: str) -> str:
    return reverse("merchants:glossary")
