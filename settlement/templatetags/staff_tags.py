"""Small presentation filters for the staff pages: local times from stored ISO text,
translated outcome names, days late and the SLA's time left."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from settlement.models import FollowUpCase

register = template.Library()


@register.filter
def may_open(user, view_name: str) -> bool:
    """Whether `user`'s staff role opens the staff view `view_name` ("audit", ...): the
    view's own `role_required` decides, so a nav link never offers a page that is a 403."""
    from django.urls import NoReverseMatch, resolve, reverse

    from settlement.staff.roles import has_role

    try:
        view = resolve(reverse(f"staff:{view_name}")).func
    except NoReverseMatch:
        return False
    role = getattr(view, "staff_role", None)
    return role is not None and has_role(user, role)


@register.filter
def iso_local(value: str) -> str:
    """'2026-12-02T08:00:00+00:00' -> '2026-12-02 16:00' in the active time zone."""
    parsed = parse_datetime(value) if isinstance(value, str) and value else None
    if parsed is None or timezone.is_naive(parsed):
        return value or ""
    return timezone.localtime(parsed).strftime("%Y-%m-%d %H:%M")


@register.filter
def outcome_label(value: str) -> str:
    try:
        return str(FollowUpCase.Outcome(value).label)
    except ValueError:
        return value or ""


@register.simple_tag
def days_late(arrival_at: datetime | None, now: datetime) -> int:
    """Whole days since the money was due (0 while not due yet)."""
    if arrival_at is None:
        return 0
    return max(0, (now - arrival_at).days)


@register.simple_tag
def sla_left(due: datetime, now: datetime) -> str:
    hours = (due - now).total_seconds() / 3600
    if hours >= 0:
        return _("%(h)s h left") % {"h": f"{hours:.0f}" if hours >= 10 else f"{hours:.1f}"}
    return _("breached %(h)s h ago") % {"h": f"{-hours:.0f}" if hours <= -10 else f"{-hours:.1f}"}


@register.filter
def event_label(value: str) -> str:
    """A stored event type ('credited') as its translated name."""
    from settlement.lifecycle import EventType

    try:
        return str(EventType(value).label)
    except ValueError:
        return value or ""


@register.filter
def event_outcome_label(value: str) -> str:
    from settlement.lifecycle import Outcome

    try:
        return str(Outcome(value).label)
    except ValueError:
        return value or ""


@register.filter
def hours_of(seconds) -> str:
    try:
        return f"{int(seconds) / 3600:.1f}"
    except (TypeError, ValueError):
        return ""


@register.filter
def label_of(labels: dict, value: str) -> str:
    """A choice label from a dict the view translated once (the raw value if unknown)."""
    return labels.get(value, value)


@register.simple_tag
def select_options(choices, selected) -> str:
    """The <option>s of a filter <select>, `selected` marked: one call instead of a
    template loop with an {% if %} per option (the queue has ~40 of them on each page)."""
    from django.utils.html import format_html_join

    selected = "" if selected is None else str(selected)
    return format_html_join("", '<option value="{}"{}>{}</option>',
                            ((key, " selected" if str(key) == selected else "", label) for key, label in choices))
