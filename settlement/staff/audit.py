"""The audit trail for supervisors (/staff/audit/): who changed which channel setting,
secret, calendar day or year, membership, payout or API token, when, old -> new.
Read-only; the rows are django-auditlog's (config/audit.py, channels/audit.py)."""

from datetime import datetime, time, timedelta

from auditlog.models import LogEntry
from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from settlement.staff.roles import Role, role_required

LIMIT = 200
# (app_label, model) -> label; the models the trail covers.
KINDS = {
    "channel": ("channels", "channel", _("Channel setting")),
    "secret": ("channels", "channelsecret", _("Channel secret")),
    "day": ("channels", "calendarday", _("Calendar day")),
    "year": ("channels", "calendaryear", _("Calendar year")),
    "membership": ("merchants", "membership", _("Membership")),
    "payout": ("settlement", "payout", _("Bank credit (payout)")),
    "token": ("knox", "authtoken", _("API token")),
}


class AuditFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("What"), required=False,
                             choices=[("", _("Everything"))] + [(k, v[2]) for k, v in KINDS.items()])
    actor = forms.CharField(label=_("Who (username)"), required=False, max_length=150)
    object = forms.CharField(label=_("Which (contains)"), required=False, max_length=100)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


def audit_entries(*, kind: str = "", actor: str = "", obj: str = "", since=None, until=None) -> list[LogEntry]:
    rows = LogEntry.objects.select_related("actor", "content_type").order_by("-timestamp", "-pk")
    if kind:
        app_label, model, _label = KINDS[kind]
        rows = rows.filter(content_type__app_label=app_label, content_type__model=model)
    else:
        rows = rows.filter(content_type__model__in=[m for _a, m, _l in KINDS.values()])
    if actor:
        rows = rows.filter(actor__username__iexact=actor)
    if obj:
        rows = rows.filter(object_repr__icontains=obj)
    zone = timezone.get_current_timezone()
    if since:
        rows = rows.filter(timestamp__gte=datetime.combine(since, time.min, tzinfo=zone))
    if until:
        rows = rows.filter(timestamp__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=zone))
    return list(rows[:LIMIT])


def _label(entry: LogEntry) -> str:
    for app_label, model, label in KINDS.values():
        if (entry.content_type.app_label, entry.content_type.model) == (app_label, model):
            return str(label)
    return entry.content_type.model


@role_required(Role.SUPERVISOR)
def audit_page(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    entries = []
    if form.is_bound and not form.is_valid():
        status = 400
    else:
        status = 200
        data = form.cleaned_data if form.is_bound else {}
        entries = audit_entries(kind=data.get("kind") or "", actor=data.get("actor") or "",
                                obj=data.get("object") or "", since=data.get("since"), until=data.get("until"))
    rows = [{"entry": e, "kind": _label(e), "changes": sorted((e.changes or {}).items())} for e in entries]
    return render(request, "settlement/staff/audit.html", {"form": form, "rows": rows, "limit": LIMIT}, status=status)
