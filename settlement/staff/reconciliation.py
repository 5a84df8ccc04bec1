"""Staff reconciliation pages (/staff/reconciliation/): the breaks queue with filters,
totals, CSV export and bulk resolve; a run's page; the settlement-file upload. Thin:
parse the form, call a service or selector, render or redirect."""

import csv
from datetime import timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from channels.models import Channel
from config.csv_safety import safe_row
from settlement.models import BreakKind, ReconciliationRun, ResultKind
from settlement.services.recon_breaks import BreakError, breaks_resolve
from settlement.services.reconciliation import SettlementFileError, settlement_file_receive
from settlement.staff.recon_selectors import (
    AGE_BUCKETS,
    BreakFilters,
    age_days,
    breaks_find,
    breaks_totals,
    runs_recent,
)
from settlement.staff.roles import Role, role_required
from settlement.staff.views import staff_required

PAGE_SIZE = 50
EXPORT_COLUMNS = ("id", "channel", "business_date", "kind", "status", "resolution", "reference", "merchant_no",
                  "amount", "difference", "detail", "first_seen_at", "age_days", "seen_count", "resolved_at",
                  "resolved_by", "resolution_reason")


class BreakFilterForm(forms.Form):
    channel = forms.CharField(required=False, label=gettext_lazy("Channel"))
    date_from = forms.DateField(required=False, label=gettext_lazy("Business date from"),
                                widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, label=gettext_lazy("to"), widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(required=False, label=gettext_lazy("Kind"),
                             choices=[("", gettext_lazy("Any kind")), *BreakKind.choices])
    age = forms.ChoiceField(required=False, label=gettext_lazy("Days since first seen"),
                            choices=[("", gettext_lazy("Any age"))] + [(k, k) for k in AGE_BUCKETS])
    merchant = forms.CharField(required=False, label=gettext_lazy("Merchant"), max_length=100)
    state = forms.ChoiceField(required=False, label=gettext_lazy("State"), choices=[
        ("open", gettext_lazy("Open breaks")), ("resolved", gettext_lazy("Resolved")),
        ("auto", gettext_lazy("Matched by a later run")), ("staff", gettext_lazy("Resolved by staff")),
        ("all", gettext_lazy("All"))])


class BulkResolveForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


class UploadForm(forms.Form):
    channel = forms.ModelChoiceField(queryset=Channel.objects.order_by("code"), label=gettext_lazy("Channel"))
    business_date = forms.DateField(label=gettext_lazy("Business date"), widget=forms.DateInput(attrs={"type": "date"}))
    file = forms.FileField(label=gettext_lazy("Settlement file (CSV or XLSX)"))


def _filters(request: HttpRequest) -> tuple[BreakFilterForm, BreakFilters]:
    form = BreakFilterForm(request.GET or None)
    d = form.cleaned_data if form.is_valid() else {}
    return form, BreakFilters(
        channel=d.get("channel", "").strip(), date_from=d.get("date_from"), date_to=d.get("date_to"),
        kind=d.get("kind", ""), age=d.get("age", ""), merchant=d.get("merchant", "").strip(),
        state=d.get("state") or "open",
    )


@staff_required
def breaks_page(request: HttpRequest) -> HttpResponse:
    form, filters = _filters(request)
    now = timezone.now()
    breaks = breaks_find(filters=filters, now=now)
    if request.GET.get("format") == "csv":
        return _export(breaks, now)
    page = Paginator(breaks.select_related("channel", "merchant", "resolved_by", "transaction"),
                     PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(b, age_days(b, now)) for b in page]
    params = request.GET.copy()
    params.pop("page", None)
    params.pop("format", None)
    return render(request, "settlement/staff/reconciliation/breaks.html", {
        "form": form, "filters": filters, "page": page, "rows": rows, "totals": breaks_totals(breaks),
        "channels": Channel.objects.order_by("code").values_list("code", "name"), "runs": runs_recent(),
        "querystring": params.urlencode(), "resolve_form": BulkResolveForm(), "now": now,
    })


def _export(breaks, now) -> StreamingHttpResponse:
    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())

    def rows():
        yield "\ufeff"  # Excel / WPS read UTF-8 only with the BOM
        yield writer.writerow(EXPORT_COLUMNS)
        for b in breaks.select_related("channel", "resolved_by").iterator(chunk_size=2000):
            yield writer.writerow(safe_row([
                b.pk, b.channel.code, b.business_date.isoformat(), b.kind, b.status, b.resolution, b.reference,
                b.merchant_no, b.amount, b.difference, b.detail, b.first_seen_at.isoformat(), age_days(b, now),
                b.seen_count, b.resolved_at.isoformat() if b.resolved_at else "",
                b.resolved_by.get_username() if b.resolved_by else "", b.resolution_reason,
            ]))

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="breaks-{now:%Y%m%d-%H%M}.csv"'
    return response


@require_POST
@role_required(Role.SUPERVISOR)
def breaks_bulk_resolve(request: HttpRequest) -> HttpResponse:
    back = reverse("staff:reconciliation")
    query = request.POST.get("q", "")
    if query:
        back += "?" + query.lstrip("?")
    ids = [i for i in request.POST.getlist("break") if i.isdigit()]
    try:
        done = breaks_resolve(break_ids=[int(i) for i in ids], by=request.user, reason=request.POST.get("reason", ""))
    except BreakError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    message = _("%(n)s break(s) resolved.") % {"n": done.resolved}
    if done.skipped:
        message += " " + _("%(n)s were already resolved and left as they were.") % {"n": done.skipped}
    messages.success(request, message)
    return redirect(back)


@staff_required
def run_page(request: HttpRequest, run_id: int) -> HttpResponse:
    run = get_object_or_404(ReconciliationRun.objects.select_related("channel", "file", "file__supersedes",
                                                                     "file__uploaded_by"), pk=run_id)
    kind = request.GET.get("kind", "")
    results = run.results.order_by("line", "reference", "id")
    if kind in ResultKind.values:
        results = results.filter(kind=kind)
    page = Paginator(results, PAGE_SIZE * 2).get_page(request.GET.get("page"))
    totals = [(k, label, run.totals.get(k, {"count": 0, "file": "0.00", "ours": "0.00"}))
              for k, label in ResultKind.choices]
    return render(request, "settlement/staff/reconciliation/run.html", {
        "run": run, "file": run.file, "totals": totals, "page": page, "kind": kind,
        "superseded_by": getattr(run.file, "superseded_by", None),
    })


@staff_required
def upload_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > settings.RECON_MAX_UPLOAD_BYTES:
                form.add_error("file", _("The file is larger than %(n)s MB.")
                               % {"n": settings.RECON_MAX_UPLOAD_BYTES // (1024 * 1024)})
            else:
                try:
                    receipt = settlement_file_receive(
                        channel=form.cleaned_data["channel"], raw=upload.read(), filename=upload.name,
                        business_date=form.cleaned_data["business_date"], source="upload", by=request.user,
                    )
                except SettlementFileError as exc:
                    form.add_error("file", exc.message)
                else:
                    if receipt.duplicate:
                        messages.warning(request, _("This file was received before (same content): "
                                                    "showing its run; nothing new was stored."))
                    else:
                        messages.success(request, _("File stored and reconciled."))
                    return redirect("staff:reconciliation-run", run_id=receipt.run.pk)
    else:
        yesterday = timezone.now().astimezone(ZoneInfo(settings.TIME_ZONE)).date() - timedelta(days=1)
        form = UploadForm(initial={"business_date": yesterday})
    return render(request, "settlement/staff/reconciliation/upload.html", {"form": form})
