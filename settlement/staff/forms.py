from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from settlement.lifecycle import EventType
from settlement.models import FollowUpCase
from settlement.models.cases import Cause
from settlement.staff.selectors import AGE_BUCKETS

_LOCAL_DT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class QueueFilterForm(forms.Form):
    channel = forms.CharField(required=False, label=_("Channel"))
    cause = forms.ChoiceField(required=False, label=_("Cause"), choices=[("", _("Any cause")), *Cause.choices])
    merchant = forms.CharField(required=False, label=_("Merchant no."), max_length=32)
    age = forms.ChoiceField(
        required=False, label=_("Age (days)"), choices=[("", _("Any age"))] + [(k, k) for k in AGE_BUCKETS]
    )
    status = forms.ChoiceField(
        required=False, label=_("Status"), choices=[("", _("Unresolved")), *FollowUpCase.Status.choices]
    )
    incident = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    q = forms.CharField(required=False, label=_("Search"), max_length=64)
    view = forms.ChoiceField(required=False, label=_("View"), choices=[
        ("", _("All cases")), ("mine", _("Mine")), ("unassigned", _("Unassigned")), ("escalated", _("Escalated")),
        ("breached", _("SLA breached")), ("waiting_merchant", _("Waiting on merchant")),
        ("waiting_acquirer", _("Waiting on acquirer / bank")), ("promised", _("New arrival promised")),
    ])
    sort = forms.ChoiceField(required=False, label=_("Sort"), choices=[
        ("", _("Most urgent")), ("-days_late", _("Days late")), ("-amount", _("Amount")),
        ("sla", _("SLA due")), ("age", _("Oldest case")),
        ("days_late", _("Days late (fewest)")), ("amount", _("Amount (smallest)")), ("-sla", _("SLA due (latest)")),
        ("-age", _("Newest case")),
    ])


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username"),
        label=_("Assign to"),
    )


class ReplyForm(forms.Form):
    body = forms.CharField(label=_("Reply to the merchant"), max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 4}))


class NoteForm(forms.Form):
    body = forms.CharField(label=_("Internal note (staff only)"), max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}))


class NewArrivalForm(forms.Form):
    at = forms.DateTimeField(label=_("New expected arrival (shown to the merchant)"), widget=_LOCAL_DT)
    reason = forms.CharField(label=_("Why (shown to the merchant)"), max_length=300)


class ContactForm(forms.Form):
    party = forms.CharField(label=_("Who (acquirer / bank, person)"), max_length=100)
    contacted_at = forms.DateTimeField(label=_("When"), required=False, widget=_LOCAL_DT)
    said = forms.CharField(label=_("What was said"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2}))
    reference = forms.CharField(label=_("Their reference no."), max_length=100, required=False)


class FollowUpForm(forms.Form):
    at = forms.DateTimeField(label=_("Remind me at (internal)"), widget=_LOCAL_DT)


class WaitForm(forms.Form):
    on = forms.ChoiceField(label=_("Waiting on"), choices=[
        ("merchant", _("the merchant")), ("acquirer", _("the acquirer / bank"))])
    note = forms.CharField(label=_("What we are waiting for"), max_length=2000, required=False)


class EscalateForm(forms.Form):
    reason = forms.CharField(label=_("Why"), max_length=2000, required=False)


class ResolveForm(forms.Form):
    outcome = forms.ChoiceField(label=_("Outcome"), choices=FollowUpCase.Outcome.choices)
    note = forms.CharField(label=_("Note"), max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    # "Credited late" on a swipe not credited yet records the credit in the same step.
    bank_reference = forms.CharField(label=_("Bank reference (if not recorded yet)"), max_length=64, required=False)
    bank_time = forms.DateTimeField(label=_("Time the bank gave"), required=False, widget=_LOCAL_DT)


class RecordEventForm(forms.Form):
    """What the bank or acquirer confirmed, recorded as a staff event (the one door)."""

    status = forms.ChoiceField(label=_("Confirmed status"), choices=[
        (EventType.CREDITED, _("Credited (bank confirmed)")),
        (EventType.RETURNED, _("Returned by the bank")),
        (EventType.REFUNDED, _("Refunded")),
        (EventType.REVERSED, _("Reversed")),
        (EventType.RELEASED, _("Released from hold")),
    ])
    occurred_at = forms.DateTimeField(label=_("Time the bank gave"), required=False, widget=_LOCAL_DT)
    bank_reference = forms.CharField(label=_("Bank reference"), max_length=64, required=False)
    reason = forms.CharField(label=_("Reason (for a return)"), max_length=300, required=False)
    evidence = forms.CharField(label=_("Evidence (who said it, how)"), max_length=2000, required=False,
                               widget=forms.Textarea(attrs={"rows": 2}))


class BulkForm(forms.Form):
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], label=_("Cases"), required=False)
    # Instead of ids: every open case of this incident.
    incident = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
    action = forms.ChoiceField(label=_("Do"), choices=[
        ("assign", _("Assign to")), ("reply", _("Reply with template")),
        ("new-arrival", _("Set a new expected arrival")), ("escalate", _("Escalate")), ("resolve", _("Resolve as")),
    ])
    all_matching = forms.BooleanField(required=False, label=_("All cases matching the filters"))
    at = forms.DateTimeField(required=False, label=_("New expected arrival"), widget=_LOCAL_DT)
    reason = forms.CharField(required=False, max_length=300, label=_("Why (shown to the merchant)"))
    assignee = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_staff=True, is_active=True).order_by("username"),
        required=False, label=_("Assign to"))
    template = forms.ModelChoiceField(queryset=None, required=False, label=_("Template"))
    outcome = forms.ChoiceField(required=False, label=_("Outcome"), choices=[("", "—"), *FollowUpCase.Outcome.choices])

    def __init__(self, *args, **kwargs):
        from settlement.models import ReplyTemplate

        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = ReplyTemplate.objects.filter(active=True)
        # Any id is accepted here; the service only touches unresolved cases that exist.
        self.fields["ids"].valid_value = lambda value: str(value).isdigit()

    def clean(self):
        data = super().clean()
        need = {"assign": ["assignee"], "reply": ["template"], "resolve": ["outcome"],
                "new-arrival": ["at", "reason"]}.get(data.get("action"), [])
        for name in need:
            if not data.get(name):
                self.add_error(name, _("This field is required."))
        return data


class IncidentUpdateForm(forms.Form):
    body = forms.CharField(label=_("Update for every affected merchant"), max_length=5000,
                           widget=forms.Textarea(attrs={"rows": 3}))


class IncidentResolveForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=5000, required=False)
