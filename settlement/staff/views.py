"""Staff pages (/staff/): the follow-up queue, a case, a channel incident. Thin:
parse the form, call a service, redirect with a message."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from channels.models import Channel
from channels.selectors import calendars_missing_next_year
from settlement.lifecycle import Outcome, Status
from settlement.models import ChannelIncident, FollowUpCase
from settlement.models.cases import Cause
from settlement.services import cases as case_services
from settlement.services.causes import evidence_describe
from settlement.services.data_errors import data_error_sides
from settlement.services.delays import arrival_explained
from settlement.services.staff_events import staff_event_record
from settlement.staff import forms
from settlement.staff.selectors import (
    QueueFilters,
    at_risk_swipes,
    case_detail,
    case_queue,
    case_timeline,
    open_incidents,
    poll_apply_problems,
    queue_totals,
)

PAGE_SIZE = 50


def staff_required(view: Callable) -> Callable:
    """Anonymous users go to the login page; logged-in non-staff (merchants) get 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    form = forms.QueueFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    filters = QueueFilters(
        channel=data.get("channel", ""), cause=data.get("cause", ""), merchant=data.get("merchant", "").strip(),
        age=data.get("age", ""), status=data.get("status", ""), incident=data.get("incident"),
    )
    now = timezone.now()
    cases = case_queue(filters=filters, now=now)
    totals = queue_totals(cases)
    # Cases of an open incident are one incident row, unless that incident is asked for.
    listed = cases if filters.incident else cases.exclude(incident__status=ChannelIncident.Status.OPEN)
    page = Paginator(
        listed.select_related("merchant", "channel", "assignee", "transaction"), PAGE_SIZE
    ).get_page(request.GET.get("page"))
    at_risk, at_risk_rows = at_risk_swipes(now=now) if not request.htmx else ({}, [])
    context = {
        "at_risk": at_risk,
        "at_risk_rows": at_risk_rows,
        "poll_problems": poll_apply_problems() if not request.htmx else [],
        "form": form,
        "filters": filters,
        "page": page,
        "totals": totals,
        "incidents": [] if filters.incident else open_incidents(),
        "channels": Channel.objects.order_by("code").values_list("code", "name"),
        "causes": Cause,
        "now": now,
        "querystring": _querystring(request),
        # From 1 November: next year's calendar is a task until it is complete.
        "calendars_missing": calendars_missing_next_year(today=timezone.localdate(now)) if not request.htmx else [],
        "next_year": timezone.localdate(now).year + 1,
    }
    template = "settlement/staff/_queue.html" if request.htmx else "settlement/staff/queue.html"
    return render(request, template, context)


def _querystring(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


@staff_required
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        case = case_detail(case_id)
    except FollowUpCase.DoesNotExist:
        raise Http404 from None
    now = timezone.now()
    context = {
        "case": case,
        "txn": case.transaction,
        "events": case_timeline(case),
        "entries": case.entries.select_related("author"),
        "arrival": arrival_explained(case.transaction) if case.transaction else None,
        "data_error": data_error_sides(case),
        "evidence": evidence_describe(case.cause_evidence),
        "breached": case.status != FollowUpCase.Status.RESOLVED and case.sla_due_at < now,
        "now": now,
        "assign_form": forms.AssignForm(initial={"assignee": case.assignee_id}),
        "note_form": forms.NoteForm(),
        "contact_form": forms.ContactForm(),
        "follow_up_form": forms.FollowUpForm(),
        "escalate_form": forms.EscalateForm(),
        "resolve_form": forms.ResolveForm(),
        "record_form": forms.RecordEventForm(),
        "is_open": case.status != FollowUpCase.Status.RESOLVED,
    }
    return render(request, "settlement/staff/case.html", context)


def _act(request: HttpRequest, case: FollowUpCase, action: str) -> str:
    """Run one action; returns the success message. Raises CaseError or ValueError."""
    user = request.user
    if action == "claim":
        case_services.case_claim(case=case, by=user)
        return _("You claimed this case.")
    form_class = {
        "assign": forms.AssignForm, "note": forms.NoteForm, "contact": forms.ContactForm,
        "follow-up": forms.FollowUpForm, "escalate": forms.EscalateForm, "resolve": forms.ResolveForm,
        "record": forms.RecordEventForm,
    }.get(action)
    if form_class is None:
        raise Http404
    form = form_class(request.POST)
    if not form.is_valid():
        raise ValueError("; ".join(f"{form.fields[f].label if f in form.fields else f}: {' '.join(e)}"
                                   for f, e in form.errors.items()))
    d = form.cleaned_data
    if action == "assign":
        case_services.case_assign(case=case, to=d["assignee"], by=user)
        return _("Assigned to %(user)s.") % {"user": d["assignee"].get_username()}
    if action == "note":
        case_services.case_add_note(case=case, by=user, body=d["body"])
        return _("Note added.")
    if action == "contact":
        case_services.case_record_contact(case=case, by=user, party=d["party"], said=d["said"],
                                          contacted_at=d["contacted_at"], reference=d["reference"])
        return _("Contact recorded.")
    if action == "follow-up":
        case_services.case_set_follow_up(case=case, by=user, at=d["at"])
        return _("Follow-up time set.")
    if action == "escalate":
        case_services.case_escalate(case=case, by=user, reason=d["reason"])
        return _("Case escalated.")
    if action == "record":
        recorded = staff_event_record(case=case, by=user, status=d["status"], occurred_at=d["occurred_at"],
                                      bank_reference=d["bank_reference"], reason=d["reason"], evidence=d["evidence"])
        label = Status(recorded.status).label
        if recorded.outcome == Outcome.APPLIED:
            return _("Recorded: the swipe is now %(status)s.") % {"status": label}
        return _("Recorded; it changed nothing: the swipe is %(status)s.") % {"status": label}
    case_services.case_resolve(case=case, by=user, outcome=d["outcome"], note=d["note"],
                               bank_reference=d["bank_reference"], bank_time=d["bank_time"])
    return _("Case resolved.")


@require_POST
@staff_required
def case_action(request: HttpRequest, case_id: int, action: str) -> HttpResponse:
    case = get_object_or_404(FollowUpCase, pk=case_id)
    try:
        messages.success(request, _act(request, case, action))
    except case_services.CaseError as exc:
        messages.error(request, exc.message, extra_tags=f"code-{exc.code}")
    except ValueError as exc:
        messages.error(request, str(exc), extra_tags="code-invalid_form")
    return redirect("staff:case", case_id=case.pk)


@staff_required
def incident_page(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(ChannelIncident.objects.select_related("channel", "resolved_by"), pk=incident_id)
    if request.method == "POST":
        form = forms.IncidentResolveForm(request.POST)
        if form.is_valid():
            try:
                back = case_services.incident_resolve(incident=incident, by=request.user,
                                                      note=form.cleaned_data["note"])
                messages.success(request, _("Incident resolved; %(n)s case(s) back in the queue.") % {"n": back})
            except case_services.CaseError as exc:
                messages.error(request, exc.message)
        return redirect("staff:incident", incident_id=incident.pk)
    cases = incident.cases.select_related("merchant", "transaction", "assignee").order_by("sla_due_at", "id")
    totals = queue_totals(cases.exclude(status=FollowUpCase.Status.RESOLVED))
    return render(request, "settlement/staff/incident.html", {
        "incident": incident, "cases": cases[:200], "totals": totals, "form": forms.IncidentResolveForm(),
    })

