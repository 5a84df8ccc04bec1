"""The merchant dashboard (/m/). Thin views: every query comes from merchants.selectors,
every write from a service; the merchant is the session's current one."""

import csv
from collections.abc import Callable
from functools import wraps
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from config.sessions import session_passive
from merchants import selectors
from merchants.forms import ExportForm, InquiryForm, SwipeSearchForm
from merchants.presentation import arrival_words, status_label
from merchants.services import notifications_mark_read
from settlement.lifecycle import Status
from settlement.models import Notification
from settlement.services.inquiries import InquiryError, inquiry_open, inquiry_reply
from settlement.services.notifications import notification_render

LIST_LIMIT = 100
LATE_LIMIT = 20


def merchant_view(view: Callable) -> Callable:
    """Logged in, with a current merchant; times render in the merchant's time zone."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        merchant, mine = selectors.current_merchant_and_choices(request)
        if merchant is None:
            return render(request, "merchants/no_merchant.html", status=403)
        request.merchant, request.my_merchants = merchant, mine
        with timezone.override(ZoneInfo(merchant.timezone)):
            return view(request, merchant, *args, **kwargs)

    return wrapped


def _poll_response(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("Cookie",))
    add_never_cache_headers(response)
    return response


def _base_context(request: HttpRequest, merchant) -> dict:
    return {
        "merchant": merchant,
        "my_merchants": request.my_merchants,
        "unread": selectors.unread_notification_count(merchant),
    }


# --- home --------------------------------------------------------------------------
def _home_context(merchant) -> dict:
    late = list(selectors.late_swipes_of(merchant, limit=LATE_LIMIT + 1))
    late_more = len(late) > LATE_LIMIT
    late = late[:LATE_LIMIT]
    for txn in late:
        txn.open_case = txn.open_cases[0] if txn.open_cases else None
        txn.arrival_text = arrival_words(txn, merchant)
    recent = list(selectors.recent_swipes_of(merchant))
    for txn in recent:
        txn.arrival_text = arrival_words(txn, merchant)
    return {"today": selectors.today_of(merchant), "late": late, "late_more": late_more, "recent": recent,
            "now": timezone.now()}


@merchant_view
def home(request: HttpRequest, merchant) -> HttpResponse:
    return render(request, "merchants/home.html", {**_base_context(request, merchant), **_home_context(merchant)})


@require_GET
@session_passive  # an open tab polling is not activity: the session still times out
def home_live(request: HttpRequest) -> HttpResponse:
    """The home page's self-refreshing part. Never extends the session's idle expiry."""
    if not request.user.is_authenticated:
        response = HttpResponse(status=401)
        # htmx follows HX-Redirect: the idle tab lands on the login page.
        response["HX-Redirect"] = f"{reverse('login')}?next={reverse('merchants:home')}"
        return _poll_response(response)
    merchant = selectors.current_merchant(request)
    if merchant is None:
        return _poll_response(HttpResponse(status=403))
    with timezone.override(ZoneInfo(merchant.timezone)):
        response = render(request, "merchants/partials/home_live.html", {"merchant": merchant, **_home_context(merchant)})
    return _poll_response(response)


@login_required
@require_POST
def switch_merchant(request: HttpRequest) -> HttpResponse:
    merchant = selectors.merchant_for(user=request.user, merchant_id=request.POST.get("merchant"))
    request.session[selectors.SESSION_KEY] = merchant.pk
    return redirect("merchants:home")


# --- swipes ------------------------------------------------------------------------
@merchant_view
def swipes(request: HttpRequest, merchant) -> HttpResponse:
    form = SwipeSearchForm(request.GET or None, terminals=selectors.terminals_of(merchant))
    results, searched = [], False
    if form.is_bound and form.is_valid():
        query = form.query()
        searched = not query.empty
        if query.reference:
            # The slip's reference is exact: one hit goes straight to the swipe.
            hit = selectors.swipes_find(merchant, query).values_list("pk", flat=True)[:2]
            hits = list(hit)
            if len(hits) == 1:
                return redirect("merchants:swipe", pk=hits[0])
        results = list(selectors.swipes_find(merchant, query)[: LIST_LIMIT + 1])
    elif not form.is_bound:
        results = list(selectors.swipes_find(merchant, selectors.SwipeQuery())[: LIST_LIMIT + 1])
    for txn in results:
        txn.arrival_text = arrival_words(txn, merchant)
    context = {
        **_base_context(request, merchant),
        "form": form,
        "results": results[:LIST_LIMIT],
        "truncated": len(results) > LIST_LIMIT,
        "searched": searched,
    }
    return render(request, "merchants/swipes.html", context)


@merchant_view
def swipe_detail(request: HttpRequest, merchant, pk: int) -> HttpResponse:
    txn = selectors.transaction_of(merchant, pk)
    cases = list(selectors.cases_of(merchant).filter(transaction=txn))
    context = {
        **_base_context(request, merchant),
        "txn": txn,
        "arrival_text": arrival_words(txn, merchant),
        "timeline": list(selectors.timeline_of(txn)),
        "cases": cases,
        "open_case": next((c for c in cases if c.status != c.Status.RESOLVED), None),
        "form": InquiryForm(),
    }
    return render(request, "merchants/swipe_detail.html", context)


def _inquiry_response(request: HttpRequest, *, merchant, transaction=None, payout=None, back: str) -> HttpResponse:
    form = InquiryForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please write a short message (at most 2000 characters)."))
        return redirect(back)
    try:
        result = inquiry_open(
            user=request.user, merchant=merchant, transaction=transaction, payout=payout,
            message=form.cleaned_data["message"],
        )
    except InquiryError as exc:
        messages.error(request, _inquiry_error_text(exc.code))
        return redirect(back)
    if result.joined:
        messages.success(request, _("Your message was added to case %(ref)s.") % {"ref": result.case.reference})
    else:
        messages.success(request, _("We opened case %(ref)s and will get back to you.") % {"ref": result.case.reference})
    return redirect("merchants:case", pk=result.case.pk)


def _inquiry_error_text(code: str) -> str:
    texts = {
        "full_pan_forbidden": _("Please do not write a full card number; the last 4 digits are enough."),
        "message_required": _("Please say what is wrong."),
        "message_too_long": _("Please write a short message (at most 2000 characters)."),
    }
    return texts.get(code, _("That did not work; please try again."))


@merchant_view
@require_POST
def swipe_ask(request: HttpRequest, merchant, pk: int) -> HttpResponse:
    txn = selectors.transaction_of(merchant, pk)
    return _inquiry_response(request, merchant=merchant, transaction=txn,
                             back=reverse("merchants:swipe", kwargs={"pk": txn.pk}))


# --- arrivals (payouts) ------------------------------------------------------------
@merchant_view
def arrivals(request: HttpRequest, merchant) -> HttpResponse:
    rows = list(selectors.payouts_of(merchant)[: LIST_LIMIT + 1])
    context = {**_base_context(request, merchant), "payouts": rows[:LIST_LIMIT], "truncated": len(rows) > LIST_LIMIT}
    return render(request, "merchants/arrivals.html", context)


@merchant_view
def arrival_detail(request: HttpRequest, merchant, pk: int) -> HttpResponse:
    payout = selectors.payout_of(merchant, pk)
    swipes_in = list(selectors.payout_swipes(payout))
    total_amount = sum((t.amount for t in swipes_in), start=0)
    total_fee = sum((t.fee for t in swipes_in), start=0)
    total_net = sum((t.net for t in swipes_in), start=0)
    context = {
        **_base_context(request, merchant),
        "payout": payout,
        "swipes": swipes_in,
        "total_amount": total_amount,
        "total_fee": total_fee,
        "total_net": total_net,
        "residual": payout.amount - total_net,
        # The stored fact (the payout door found and keeps it), explained in plain words.
        "discrepancy": selectors.payout_open_discrepancy(payout),
        "credited_by_swipes": selectors.payout_credited_by_swipes(payout),
        "cases": list(selectors.cases_of(merchant).filter(payout=payout)),
        "form": InquiryForm(),
    }
    return render(request, "merchants/arrival_detail.html", context)


@merchant_view
@require_POST
def arrival_ask(request: HttpRequest, merchant, pk: int) -> HttpResponse:
    payout = selectors.payout_of(merchant, pk)
    return _inquiry_response(request, merchant=merchant, payout=payout,
                             back=reverse("merchants:arrival", kwargs={"pk": payout.pk}))


# --- cases (inquiries and late payments) -------------------------------------------
@merchant_view
def cases(request: HttpRequest, merchant) -> HttpResponse:
    rows = list(selectors.cases_of(merchant)[: LIST_LIMIT + 1])
    context = {**_base_context(request, merchant), "cases": rows[:LIST_LIMIT], "truncated": len(rows) > LIST_LIMIT}
    return render(request, "merchants/cases.html", context)


@merchant_view
def case_detail(request: HttpRequest, merchant, pk: int) -> HttpResponse:
    case = selectors.case_of(merchant, pk)
    context = {
        **_base_context(request, merchant),
        "case": case,
        "entries": list(selectors.case_entries_for_merchant(case)),
        "form": InquiryForm(),
    }
    return render(request, "merchants/case_detail.html", context)


@merchant_view
@require_POST
def case_reply(request: HttpRequest, merchant, pk: int) -> HttpResponse:
    case = selectors.case_of(merchant, pk)
    form = InquiryForm(request.POST)
    back = reverse("merchants:case", kwargs={"pk": case.pk})
    if not form.is_valid():
        messages.error(request, _("Please write a short message (at most 2000 characters)."))
        return redirect(back)
    try:
        result = inquiry_reply(user=request.user, merchant=merchant, case=case, message=form.cleaned_data["message"])
    except InquiryError as exc:
        messages.error(request, _inquiry_error_text(exc.code))
        return redirect(back)
    messages.success(request, _("Your message was added to case %(ref)s.") % {"ref": result.case.reference})
    return redirect("merchants:case", pk=result.case.pk)


# --- notifications -----------------------------------------------------------------
@merchant_view
def notifications(request: HttpRequest, merchant) -> HttpResponse:
    rows = list(selectors.notifications_of(merchant)[:LIST_LIMIT])
    for n in rows:  # staff replies, new arrivals: their own words, in the reader's language
        if n.kind == Notification.Kind.CASE_UPDATE:
            n.title, n.text = notification_render(n, tz=merchant.timezone)
    return render(request, "merchants/notifications.html", {**_base_context(request, merchant), "notifications": rows})


@merchant_view
@require_POST
def notifications_read(request: HttpRequest, merchant) -> HttpResponse:
    notifications_mark_read(merchant=merchant)
    return redirect("merchants:notifications")


# --- export ------------------------------------------------------------------------
class _Echo:
    def write(self, value: str) -> str:
        return value


CSV_COLUMNS = ["reference", "captured_at", "amount", "fee", "net", "status", "card", "terminal", "expected_by",
               "credited_at", "payout"]


@merchant_view
def export(request: HttpRequest, merchant) -> HttpResponse:
    form = ExportForm(request.GET or None, initial=ExportForm.default_initial())
    if not form.is_bound or not form.is_valid():
        status = 400 if form.is_bound else 200
        return render(request, "merchants/export.html", {**_base_context(request, merchant), "form": form}, status=status)
    query = selectors.SwipeQuery(date_from=form.cleaned_data["date_from"], date_to=form.cleaned_data["date_to"])
    rows = selectors.swipes_find(merchant, query).select_related("payout").order_by("captured_at", "id")
    headers = [_("Reference"), _("Time"), _("Amount"), _("Fee"), _("Net"), _("Status"), _("Card"), _("Terminal"),
               _("Expected by"), _("Arrived at"), _("Bank credit")]
    tz = ZoneInfo(merchant.timezone)
    # Resolved now: the streamed body is written after the view (and its language) returns.
    labels = {value: status_label(value) for value in Status.values}

    def fmt(value) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if value else ""

    def lines():
        writer = csv.writer(_Echo())
        # The BOM tells Excel the file is UTF-8, so Chinese names open correctly.
        yield "\ufeff" + writer.writerow(headers)
        for txn in rows.iterator(chunk_size=2000):
            yield writer.writerow([
                txn.reference, fmt(txn.captured_at), f"{txn.amount:.2f}", f"{txn.fee:.2f}", f"{txn.net:.2f}",
                labels.get(txn.status, txn.status), txn.masked_pan, txn.terminal.serial_number if txn.terminal else "",
                fmt(txn.expected_by), fmt(txn.credited_at), txn.payout.reference if txn.payout else "",
            ])

    filename = f"swipes-{merchant.merchant_no}-{form.cleaned_data['date_from']:%Y%m%d}-{form.cleaned_data['date_to']:%Y%m%d}.csv"
    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

