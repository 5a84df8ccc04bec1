"""Staff pages (/staff/): the follow-up queue, a case, a channel incident. Thin:
parse the form, call a service, redirect with a message."""

from urllib.parse import urlsplit

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from channels.selectors import calendars_missing_among
from settlement.lifecycle import Outcome, Status
from settlement.models import ChannelIncident, FollowUpCase
from settlement.models.cases import Cause
from settlement.services import bulk as bulk_services
from settlement.services import cases as case_services
from settlement.services.causes import evidence_describe
from settlement.services.data_errors import data_error_sides
from settlement.services.delays import arrival_explained
from settlement.services.incident_updates import (
    TIMELINE_MAX_EVENTS,
    incident_case_events,
    incident_merchants,
    incident_post_update,
)
from settlement.services.replies import (
    case_reply,
    case_set_new_arrival,
    reply_template_fill,
    reply_templates_active,
)
from settlement.services.staff_events import staff_event_record
from settlement.services.waiting import case_resume, case_wait
from settlement.staff import forms, search
from settlement.staff.roles import Role, has_role, role_required, staff_required
from settlement.staff.rows import queue_rows
from settlement.staff.selectors import (
    QueueFilters,
    at_risk_swipes,
    case_detail,
    case_queue,
    case_timeline,
    open_incidents,
    poll_apply_problems,
    queue_channels,
    queue_totals,
)

PAGE_SIZE = 50
# What a queue row shows (settlement/staff/rows.py), as values: the joins are implied.
QUEUE_ROW_FIELDS = (
    "id", "reference", "status", "cause", "amount_at_stake", "opened_at", "arrival_at", "sla_due_at", "sla_paused_at",
    "arrival_missed_at", "merchant__name", "merchant__merchant_no", "channel__code", "assignee__username",
    "transaction__reference",
)


def _queue_cases(params, *, user, now):
    """(form, filters, data, matching cases, listed cases) for the queue's GET
    parameters: the queue page and "all matching the filters" in bulk use the same."""
    form = forms.QueueFilterForm(params or None)
    data = form.cleaned_data if form.is_valid() else {}
    filters = QueueFilters(
        channel=data.get("channel", ""), cause=data.get("cause", ""), merchant=data.get("merchant", "").strip(),
        status=data.get("status", ""), incident=data.get("incident"),
    )
    q = data.get("q", "").strip()
    cases = search.queue_age(case_queue(filters=filters, now=now), data.get("age", ""), now=now)
    cases = search.queue_search(search.queue_view(cases, data.get("view", ""), user=user, now=now), q)
    # Cases of an open incident are one incident row, unless that incident (or a search) is asked for.
    listed = cases if (filters.incident or q) else cases.exclude(incident_id__in=_OPEN_INCIDENT_IDS)
    return form, filters, data, cases, listed


# A subquery, not a join: the queue's counts and page stay on the case table.
_OPEN_INCIDENT_IDS = ChannelIncident.objects.filter(status=ChannelIncident.Status.OPEN).values("id")
_NOT_IN_OPEN_INCIDENT = Q(incident_id__isnull=True) | ~Q(incident_id__in=_OPEN_INCIDENT_IDS)


class _CountedPaginator(Paginator):
    """A Paginator told its count (queue_totals already counted the listed rows)."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self._known_count = count

    @property
    def count(self) -> int:
        return self._known_count


@staff_required
def queue(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    form, filters, data, cases, listed = _queue_cases(request.GET, user=request.user, now=now)
    q, view, sort = data.get("q", "").strip(), data.get("view", ""), data.get("sort", "")
    # One aggregate counts the matching cases, their money and the listed ones.
    totals = queue_totals(cases, listed_only=None if listed is cases else _NOT_IN_OPEN_INCIDENT)
    # Sort narrow rows (ids and sort keys) for the page, then fetch those 50 wide rows
    # with their joins: one statement, the sorted page a LIMIT subquery of the outer one
    # (sorting the wide joined rows cost 5x more at 10k cases).
    ordered = search.queue_sort(listed, sort)
    page = _CountedPaginator(ordered.values_list("id", flat=True), PAGE_SIZE,
                             count=totals["listed"]).get_page(request.GET.get("page"))
    # Plain dicts (values), not model instances: 50 rows x 5 objects were the page's
    # largest CPU cost after the template.
    wide = search.with_arrival(FollowUpCase.objects.filter(id__in=page.object_list))
    page.object_list = list(wide.order_by(*ordered.query.order_by).values(*QUEUE_ROW_FIELDS)) \
        if totals["listed"] else []
    # A history restore (back button after hx-push-url) needs the whole page.
    partial = bool(request.htmx) and not request.htmx.history_restore_request
    full = not partial
    today = timezone.localdate(now)
    channels = queue_channels(today=today) if full else []  # the filter form and banners are not in the htmx partial
    at_risk, at_risk_rows = at_risk_swipes(now=now, channels=channels) if full else ({}, [])
    cause_labels = {k: str(v) for k, v in Cause.choices}
    status_labels = {k: str(v) for k, v in FollowUpCase.Status.choices}
    can_bulk = has_role(request.user, Role.SUPERVISOR)
    context = {
        "at_risk": at_risk,
        "at_risk_rows": at_risk_rows,
        "poll_problems": poll_apply_problems(channels) if full else [],
        "form": form,
        "filters": filters,
        "q": q, "view": view, "sort": sort or search.DEFAULT_SORT,
        "page": page,
        "totals": totals,
        "incidents": [] if (filters.incident or q) else open_incidents(),
        "channels": [(c.code, c.name) for c in channels],
        "causes": Cause,
        "now": now,
        "querystring": _querystring(request),
        "queue_url": reverse("staff:queue"),  # once, not in each of the page's ~20 links and forms
        # From 1 November: next year's calendar is a task until it is complete.
        "calendars_missing": calendars_missing_among(channels, today=today),
        "next_year": today.year + 1,

        "sort_links": _sort_links(request),
        # Labels translated once per page, not once per row (get_FOO_display rebuilds its choices).
        "rows": queue_rows(page.object_list, now=now, can_bulk=can_bulk, cause_labels=cause_labels,
                           status_labels=status_labels),
        "can_bulk": can_bulk,
    }
    if context["can_bulk"]:
        context["bulk_staff"] = forms.BulkForm.base_fields["assignee"].queryset.all()  # a fresh query, never the cached class one
        context["bulk_templates"] = reply_templates_active()
        context["bulk_outcomes"] = FollowUpCase.Outcome.choices
    template = "settlement/staff/_queue.html" if partial else "settlement/staff/queue.html"
    return render(request, template, context)


def _sort_links(request: HttpRequest) -> dict[str, str]:
    """Column header links: a click sorts by the column, a second click reverses it."""
    current = request.GET.get("sort", "")
    links = {}
    for key, first in (("days_late", "-days_late"), ("amount", "-amount"), ("sla", "sla"), ("age", "age")):
        params = request.GET.copy()
        params.pop("page", None)
        params["sort"] = (first[1:] if first.startswith("-") else "-" + first) if current == first else first
        links[key] = params.urlencode()
    return links


def _querystring(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()


# action slug -> (form, lowest role allowed). The role matrix test reads this table.
ACTIONS: dict[str, tuple[type[forms.forms.Form] | None, Role]] = {
    "claim": (None, Role.AGENT),
    "assign": (forms.AssignForm, Role.SUPERVISOR),
    "reply": (forms.ReplyForm, Role.AGENT),
    "note": (forms.NoteForm, Role.AGENT),
    "contact": (forms.ContactForm, Role.AGENT),
    "new-arrival": (forms.NewArrivalForm, Role.AGENT),
    "follow-up": (forms.FollowUpForm, Role.AGENT),
    "escalate": (forms.EscalateForm, Role.AGENT),
    "wait": (forms.WaitForm, Role.AGENT),
    "resume": (None, Role.AGENT),
    "record": (forms.RecordEventForm, Role.AGENT),
    "resolve": (forms.ResolveForm, Role.AGENT),
}
FORM_NAMES = {"assign": "assign_form", "reply": "reply_form", "note": "note_form", "contact": "contact_form",
              "new-arrival": "arrival_form", "follow-up": "follow_up_form", "escalate": "escalate_form", "wait": "wait_form",
              "record": "record_form", "resolve": "resolve_form"}


def _case_context(request: HttpRequest, case: FollowUpCase, *, bound: str = "", form=None) -> dict:
    now = timezone.now()
    templates = reply_templates_active()
    reply_initial = {}
    chosen = request.GET.get("template", "")
    if chosen.isdigit():
        template = next((t for t in templates if t.pk == int(chosen)), None)
        if template is not None:
            reply_initial["body"] = reply_template_fill(template, case=case)
    context = {
        "case": case,
        "txn": case.transaction,
        "events": case_timeline(case),
        "entries": case.entries.select_related("author"),
        "arrival": arrival_explained(case.transaction) if case.transaction else None,
        "data_error": data_error_sides(case),
        "evidence": evidence_describe(case.cause_evidence),
        "breached": case.status != FollowUpCase.Status.RESOLVED and case.sla_due_at < now and not case.sla_paused_at,
        "now": now,
        "assign_form": forms.AssignForm(initial={"assignee": case.assignee_id}),
        "reply_form": forms.ReplyForm(initial=reply_initial),
        "note_form": forms.NoteForm(),
        "contact_form": forms.ContactForm(),
        "arrival_form": forms.NewArrivalForm(),
        "follow_up_form": forms.FollowUpForm(),
        "escalate_form": forms.EscalateForm(),
        "wait_form": forms.WaitForm(),
        "waiting": case.sla_paused_at is not None,
        "resolve_form": forms.ResolveForm(),
        "record_form": forms.RecordEventForm(),
        "templates": templates,
        "chosen_template": chosen,
        "is_open": case.status != FollowUpCase.Status.RESOLVED,
        "can_assign": has_role(request.user, Role.SUPERVISOR),
        "bound": bound,
    }
    if bound and form is not None:
        context[FORM_NAMES[bound]] = form
    return context


@staff_required
def case_page(request: HttpRequest, case_id: int) -> HttpResponse:
    try:
        case = case_detail(case_id)
    except FollowUpCase.DoesNotExist:
        raise Http404 from None
    return render(request, "settlement/staff/case.html", _case_context(request, case))


def _act(request: HttpRequest, case: FollowUpCase, action: str, d: dict) -> str:
    """Run one action with the form's cleaned data; returns the success message. Raises CaseError."""
    user = request.user
    if action == "claim":
        case_services.case_claim(case=case, by=user)
        return _("You claimed this case.")
    if action == "assign":
        case_services.case_assign(case=case, to=d["assignee"], by=user)
        return _("Assigned to %(user)s.") % {"user": d["assignee"].get_username()}
    if action == "reply":
        case_reply(case=case, by=user, body=d["body"])
        return _("Reply sent to the merchant.")
    if action == "note":
        case_services.case_add_note(case=case, by=user, body=d["body"])
        return _("Internal note added.")
    if action == "contact":
        case_services.case_record_contact(case=case, by=user, party=d["party"], said=d["said"],
                                          contacted_at=d["contacted_at"], reference=d["reference"])
        return _("Contact recorded.")
    if action == "new-arrival":
        case_set_new_arrival(case=case, by=user, at=d["at"], reason=d["reason"])
        return _("New expected arrival set; the merchant was told.")
    if action == "follow-up":
        case_services.case_set_follow_up(case=case, by=user, at=d["at"])
        return _("Reminder set (internal).")
    if action == "escalate":
        case_services.case_escalate(case=case, by=user, reason=d["reason"])
        return _("Case escalated.")
    if action == "wait":
        case_wait(case=case, by=user, on=d["on"], note=d["note"])
        return _("Waiting: the SLA clock is paused.")
    if action == "resume":
        if not case_resume(case=case, by=user, why="staff"):
            raise case_services.CaseError("not_waiting", _("This case is not waiting."))
        return _("The SLA clock runs again.")
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
    """Success: redirect to the case with a message. Invalid form or a refused action:
    the case page again (400 / 409) with the form as typed and its errors next to it."""
    if action not in ACTIONS:
        raise Http404
    form_class, role = ACTIONS[action]
    if not has_role(request.user, role):
        raise PermissionDenied
    try:
        case = case_detail(case_id)
    except FollowUpCase.DoesNotExist:
        raise Http404 from None
    form = form_class(request.POST) if form_class else None
    if form is not None and not form.is_valid():
        messages.error(request, _("Please correct the errors in the form below."), extra_tags="code-invalid_form")
        return render(request, "settlement/staff/case.html", _case_context(request, case, bound=action, form=form),
                      status=400)
    try:
        messages.success(request, _act(request, case, action, form.cleaned_data if form else {}))
    except case_services.CaseError as exc:
        messages.error(request, exc.message, extra_tags=f"code-{exc.code}")
        if form is None:
            return redirect("staff:case", case_id=case.pk)
        form.add_error(None, exc.message)
        case.refresh_from_db()
        return render(request, "settlement/staff/case.html", _case_context(request, case, bound=action, form=form),
                      status=409)
    return redirect("staff:case", case_id=case.pk)


@staff_required
def incident_page(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(ChannelIncident.objects.select_related("channel", "resolved_by"), pk=incident_id)
    if request.method == "POST":
        if not has_role(request.user, Role.SUPERVISOR):
            raise PermissionDenied
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
    supervisor = has_role(request.user, Role.SUPERVISOR)
    updates = list(incident.updates.select_related("author"))
    events = incident_case_events(incident)
    context = {
        "incident": incident, "cases": cases[:200], "totals": totals, "form": forms.IncidentResolveForm(),
        "update_form": forms.IncidentUpdateForm(), "updates": updates,
        "timeline": _incident_timeline(incident, updates, events),
        "timeline_cut": TIMELINE_MAX_EVENTS if len(events) >= TIMELINE_MAX_EVENTS else 0,
        "merchants": incident_merchants(incident), "can_resolve": supervisor, "can_bulk": supervisor,
        "bulk_staff": forms.BulkForm.base_fields["assignee"].queryset.all() if supervisor else [],
    }
    if supervisor:
        context["bulk_templates"] = reply_templates_active()
        context["bulk_outcomes"] = FollowUpCase.Outcome.choices
    return render(request, "settlement/staff/incident.html", context)


def _incident_timeline(incident: ChannelIncident, updates: list, events: list) -> list[dict]:
    """The incident's milestones, its updates and the actions on its cases, oldest first."""
    items = [{"kind": "mark", "at": incident.window_start, "label": _("Late swipes from")},
             {"kind": "mark", "at": incident.opened_at, "label": _("Opened")}]
    items += [{"kind": "update", "at": u.created_at, "update": u} for u in updates]
    items += [{"kind": "cases", "at": e.at, "event": e} for e in events]
    if incident.resolved_at:
        items.append({"kind": "mark", "at": incident.resolved_at, "label": _("Resolved")})
    return sorted(items, key=lambda item: item["at"])


@require_POST
@role_required(Role.SUPERVISOR)
def incident_update(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = get_object_or_404(ChannelIncident, pk=incident_id)
    form = forms.IncidentUpdateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("An update needs some text."), extra_tags="code-invalid_form")
        return redirect("staff:incident", incident_id=incident.pk)
    try:
        update = incident_post_update(incident=incident, by=request.user, body=form.cleaned_data["body"])
        messages.success(request, _("Update sent to %(n)s merchant(s).") % {"n": update.merchants_told})
    except case_services.CaseError as exc:
        messages.error(request, exc.message, extra_tags=f"code-{exc.code}")
    return redirect("staff:incident", incident_id=incident.pk)


@require_POST
@role_required(Role.SUPERVISOR)
def bulk_action(request: HttpRequest) -> HttpResponse:
    """Selected cases from the queue: one action, each case its own history entry."""
    back = request.POST.get("next", "")
    back = back if back.startswith("/staff/") and url_has_allowed_host_and_scheme(back, allowed_hosts=None) else ""
    form = forms.BulkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "; ".join(f"{form.fields[f].label if f in form.fields else ''}: {' '.join(e)}"
                                          for f, e in form.errors.items()), extra_tags="code-invalid_form")
        return redirect(back or "staff:queue")
    d, ids, user = form.cleaned_data, form.cleaned_data["ids"], request.user
    if d.get("incident"):  # all of an incident: its open cases, bounded like any selection
        ids = list(FollowUpCase.objects.filter(incident_id=d["incident"], status__in=case_services.OPEN_STATUSES)
                   .order_by("id").values_list("id", flat=True)[:bulk_services.BULK_MAX])
    elif d.get("all_matching"):  # every case the queue lists for these filters, the first BULK_MAX
        params = QueryDict(urlsplit(back).query) if back else QueryDict()
        _f, _filters, _data, _cases, listed = _queue_cases(params, user=user, now=timezone.now())
        ids = list(listed.order_by("id").values_list("id", flat=True)[:bulk_services.BULK_MAX])
    try:
        if d["action"] == "assign":
            n = bulk_services.cases_bulk_assign(ids=ids, to=d["assignee"], by=user)
            messages.success(request, _("%(n)s case(s) assigned to %(user)s.") % {"n": n, "user": d["assignee"]})
        elif d["action"] == "reply":
            n = bulk_services.cases_bulk_reply(ids=ids, by=user, template=d["template"])
            messages.success(request, _("Replied on %(n)s case(s).") % {"n": n})
        elif d["action"] == "new-arrival":
            n = bulk_services.cases_bulk_new_arrival(ids=ids, by=user, at=d["at"], reason=d["reason"])
            messages.success(request, _("New expected arrival set on %(n)s case(s); their merchants were told.")
                             % {"n": n})
        elif d["action"] == "escalate":
            n = bulk_services.cases_bulk_escalate(ids=ids, by=user)
            messages.success(request, _("%(n)s case(s) escalated.") % {"n": n})
        else:
            n, skipped = bulk_services.cases_bulk_resolve(ids=ids, by=user, outcome=d["outcome"])
            messages.success(request, _("%(n)s case(s) resolved; %(skipped)s skipped (resolved already, or the "
                                        "swipe does not agree with the outcome).") % {"n": n, "skipped": skipped})
    except case_services.CaseError as exc:
        messages.error(request, exc.message, extra_tags=f"code-{exc.code}")
    return redirect(back or "staff:queue")
