"""The merchant dashboard (/m/). Thin views: every query comes from merchants.selectors,
every write from a service; the merchant is the session's current one."""

from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from config.sessions import session_passive
from merchants import accounts, glossary, roles, selectors, tokens
from merchants import export as csv_export
from merchants import team as team_services
from merchants.forms import ExportForm, InquiryForm, SwipeSearchForm
from merchants.presentation import arrival_words
from merchants.reconciliation import credit_reconciliation
from merchants.services import notifications_mark_read
from settlement.deadline_texts import reschedule_reason, rescheduled_line
from settlement.lifecycle import EventType
from settlement.models import Notification
from settlement.services.inquiries import InquiryError, inquiry_open, inquiry_reply
from settlement.services.notifications import notification_render

LIST_LIMIT = 100
LATE_LIMIT = 20


# Pages that name one object: opened while another of the user's shops is selected (the
# back button, an old link, a notification), they switch to its shop instead of a 404.
_TOKEN_ERRORS = {
    "too_many_tokens": gettext_lazy("You already have the most tokens allowed; revoke one first."),
    "too_many_token_requests": gettext_lazy("Too many new tokens this hour; try again later."),
}
SWITCHING_PAGES = {"merchants:swipe": "txn", "merchants:arrival": "payout", "merchants:case": "case"}


def merchant_view(view: Callable) -> Callable:
    """Logged in, with a current merchant; times render in the merchant's time zone."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        merchant, mine = selectors.current_merchant_and_choices(request)
        if merchant is None:
            return render(request, "merchants/no_merchant.html", status=403)
        request.merchant, request.my_merchants = merchant, mine
        if not roles.may_open(merchant, request.resolver_match.view_name):
            return render(request, "403.html", status=403)
        with timezone.override(ZoneInfo(merchant.timezone)):
            try:
                return view(request, merchant, *args, **kwargs)
            except Http404:
                switched = _switch_to_owner(request, mine, kwargs.get("pk"))
                if switched is None:
                    raise
                return switched

    return wrapped


def _switch_to_owner(request: HttpRequest, mine: list, pk) -> HttpResponse | None:
    kind = SWITCHING_PAGES.get(request.resolver_match.view_name if request.resolver_match else "")
    if kind is None or request.method != "GET" or len(mine) < 2:
        return None
    owner = selectors.owner_among(mine, kind, pk)
    if owner is None:
        return None  # not the user's at all: the 404 stands
    request.session[selectors.SESSION_KEY] = owner.pk
    messages.info(request, _("Switched to %(shop)s.") % {"shop": owner.name})
    return redirect(request.get_full_path())


def _poll_response(response: HttpResponse) -> HttpResponse:
    patch_vary_headers(response, ("Cookie",))
    add_never_cache_headers(response)
    return response


def _base_context(request: HttpRequest, merchant) -> dict:
    owner = roles.is_owner(merchant)
    context = {
        "merchant": merchant,
        "my_merchants": request.my_merchants,
        "is_owner": owner,
        "unread": selectors.unread_notification_count(merchant) if owner else 0,
    }
    if owner and len(request.my_merchants) > 1:
        context["all_late"], context["all_unread"] = selectors.across_shops_badge(request.my_merchants)
    return context


# --- home --------------------------------------------------------------------------
def _home_context(merchant) -> dict:
    numbers = selectors.home_numbers(merchant)
    late = list(selectors.late_swipes_of(merchant, limit=LATE_LIMIT))
    for txn in late:
        txn.open_case = txn.open_cases[0] if txn.open_cases else None
        txn.arrival_text = arrival_words(txn, merchant)
    recent = list(selectors.recent_swipes_of(merchant))
    for txn in recent:
        txn.arrival_text = arrival_words(txn, merchant)
    return {"numbers": numbers, "today": numbers.today, "late_total": numbers.late, "late": late,
            "late_more": numbers.late.count > len(late), "recent": recent, "now": timezone.now()}


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
        response = render(request, "merchants/partials/home_live.html",
                          {"merchant": merchant, "is_owner": roles.is_owner(merchant), **_home_context(merchant)})
    return _poll_response(response)


@login_required
@require_POST
def switch_merchant(request: HttpRequest) -> HttpResponse:
    merchant = selectors.merchant_for(user=request.user, merchant_id=request.POST.get("merchant"))
    request.session[selectors.SESSION_KEY] = merchant.pk
    target = request.POST.get("next", "")
    # Only a page of this dashboard: never an open redirect.
    if target.startswith(reverse("merchants:home")) and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return redirect(target)
    return redirect("merchants:home")


@merchant_view
def shops(request: HttpRequest, merchant) -> HttpResponse:
    """Every shop of this login at a glance: today's figures, late and unread per shop."""
    summary = selectors.all_shops_of(request.my_merchants)
    return render(request, "merchants/shops.html", {**_base_context(request, merchant), "summary": summary})


# --- swipes ------------------------------------------------------------------------
@merchant_view
def swipes(request: HttpRequest, merchant) -> HttpResponse:
    form = SwipeSearchForm(request.GET or None, terminals=selectors.terminals_of(merchant))
    results, searched = [], False
    if form.is_bound and form.is_valid():
        query = form.query()
        searched = not query.empty
        if query.reference:
            # The whole reference from the slip goes straight to the swipe; else a
            # prefix lists what starts with it.
            exact = replace(query, reference_exact=True)
            hits = list(selectors.swipes_find(merchant, exact).values_list("pk", flat=True)[:2])
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


def _swipe_context(request: HttpRequest, merchant, txn, form: InquiryForm) -> dict:
    cases = list(selectors.cases_of(merchant).filter(transaction=txn))
    timeline = list(selectors.timeline_of(txn))
    moved = [ev for ev in timeline if ev.type == EventType.RESCHEDULED]
    for ev in moved:  # the stored reason is for staff; merchants read it in their language
        ev.reason = reschedule_reason(ev.payload)
    return {
        **_base_context(request, merchant),
        "txn": txn,
        "arrival_text": arrival_words(txn, merchant),
        "rescheduled_text": rescheduled_line(moved[-1].payload, tz=merchant.timezone)
        if moved and not txn.is_final else "",
        "timeline": timeline,
        "cases": cases,
        "open_case": next((c for c in cases if c.status != c.Status.RESOLVED), None),
        "form": form,
    }


@merchant_view
def swipe_detail(request: HttpRequest, merchant, pk: int) -> HttpResponse:
    txn = selectors.transaction_of(merchant, pk)
    return render(request, "merchants/swipe_detail.html", _swipe_context(request, merchant, txn, InquiryForm()))


def _refused(request: HttpRequest, template: str, context: dict, text: str) -> HttpResponse:
    """A refused message is shown again with what was typed, never wiped (400)."""
    response = render(request, template, {**context, "form_error": text}, status=400)
    add_never_cache_headers(response)  # the text may hold the card number we refused: keep it out of caches
    return response


def _inquiry_response(request: HttpRequest, *, merchant, refuse: Callable[[InquiryForm, str], HttpResponse],
                      transaction=None, payout=None) -> HttpResponse:
    form = InquiryForm(request.POST)
    if not form.is_valid():
        return refuse(form, _("Please write a short message (at most 2000 characters)."))
    try:
        result = inquiry_open(
            user=request.user, merchant=merchant, transaction=transaction, payout=payout,
            message=form.cleaned_data["message"],
        )
    except InquiryError as exc:
        return refuse(form, _inquiry_error_text(exc.code))
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

    def refuse(form: InquiryForm, text: str) -> HttpResponse:
        return _refused(request, "merchants/swipe_detail.html", _swipe_context(request, merchant, txn, form), text)

    return _inquiry_response(request, merchant=merchant, transaction=txn, refuse=refuse)


# --- arrivals (payouts) ------------------------------------------------------------
@merchant_view
def arrivals(request: HttpRequest, merchant) -> HttpResponse:
    rows = list(selectors.payouts_of(merchant)[: LIST_LIMIT + 1])
    context = {**_base_context(request, merchant), "payouts": rows[:LIST_LIMIT], "truncated": len(rows) > LIST_LIMIT}
    return render(request, "merchants/arrivals.html", context)


def _arrival_context(request: HttpRequest, merchant, payout, form: InquiryForm) -> dict:
    swipes_in = list(selectors.payout_swipes(payout))
    total_net = sum((t.net for t in swipes_in), start=0)
    # The acquirer's lines that explain a credit other than the swipes' net (refunds,
    # chargebacks, reserve, adjustments): gross -> fees -> these -> what was credited.
    deductions = [line for line in payout.lines.all() if line.explains]
    explained = sum((line.amount for line in deductions), start=0)
    discrepancy = selectors.payout_open_discrepancy(payout)
    return {
        **_base_context(request, merchant),
        "payout": payout,
        "swipes": swipes_in,
        "total_amount": sum((t.amount for t in swipes_in), start=0),
        "total_fee": sum((t.fee for t in swipes_in), start=0),
        "total_net": total_net,
        "deductions": deductions,
        "expected": total_net + explained,
        "residual": payout.amount - total_net - explained,
        # The stored fact (the payout door found and keeps it), explained in plain words.
        "discrepancy": discrepancy,
        "recon": credit_reconciliation(payout, discrepancy=discrepancy),
        "credited_by_swipes": selectors.payout_credited_by_swipes(payout),
        "cases": list(selectors.cases_of(merchant).filter(payout=payout)),
        "form": form,
    }


@merchant_view
def arrival_detail(request: HttpRequest, merchant, pk: int) -> HttpResponse:
    payout = selectors.payout_of(merchant, pk)
    return render(request, "merchants/arrival_detail.html", _arrival_context(request, merchant, payout, InquiryForm()))


@merchant_view
@require_POST
def arrival_ask(request: HttpRequest, merchant, pk: int) -> HttpResponse:
    payout = selectors.payout_of(merchant, pk)

    def refuse(form: InquiryForm, text: str) -> HttpResponse:
        return _refused(request, "merchants/arrival_detail.html", _arrival_context(request, merchant, payout, form),
                        text)

    return _inquiry_response(request, merchant=merchant, payout=payout, refuse=refuse)


# --- cases (inquiries and late payments) -------------------------------------------
@merchant_view
def cases(request: HttpRequest, merchant) -> HttpResponse:
    rows = list(selectors.cases_of(merchant)[: LIST_LIMIT + 1])
    context = {**_base_context(request, merchant), "cases": rows[:LIST_LIMIT], "truncated": len(rows) > LIST_LIMIT}
    return render(request, "merchants/cases.html", context)


def _case_context(request: HttpRequest, merchant, case, form: InquiryForm) -> dict:
    return {
        **_base_context(request, merchant),
        "case": case,
        "entries": list(selectors.case_entries_for_merchant(case)),
        "form": form,
    }


@merchant_view
def case_detail(request: HttpRequest, merchant, pk: int) -> HttpResponse:
    case = selectors.case_of(merchant, pk)
    return render(request, "merchants/case_detail.html", _case_context(request, merchant, case, InquiryForm()))


@merchant_view
@require_POST
def case_reply(request: HttpRequest, merchant, pk: int) -> HttpResponse:
    case = selectors.case_of(merchant, pk)
    form = InquiryForm(request.POST)

    def refuse(text: str) -> HttpResponse:
        return _refused(request, "merchants/case_detail.html", _case_context(request, merchant, case, form), text)

    if not form.is_valid():
        return refuse(_("Please write a short message (at most 2000 characters)."))
    try:
        result = inquiry_reply(user=request.user, merchant=merchant, case=case, message=form.cleaned_data["message"])
    except InquiryError as exc:
        return refuse(_inquiry_error_text(exc.code))
    messages.success(request, _("Your message was added to case %(ref)s.") % {"ref": result.case.reference})
    return redirect("merchants:case", pk=result.case.pk)


# --- people -----------------------------------------------------------------------
@never_cache
@merchant_view
def team(request: HttpRequest, merchant) -> HttpResponse:
    return accounts.team_page(request, merchant, _base_context(request, merchant))


def _team_change(request: HttpRequest, merchant, pk: int, change: Callable, done: Callable, *,
                 removing: bool = False) -> HttpResponse:
    """Runs a role change or removal; another shop's (or no) membership is a 404, a
    refused one (the last owner, an unknown role) the team page with its error."""
    try:
        member = change()
    except team_services.MemberNotFound:
        raise Http404 from None
    except team_services.TeamError as exc:
        return accounts.team_page(request, merchant, _base_context(request, merchant), error=(exc.code, exc.message),
                                  status=400)
    if member.user_id == request.user.pk:
        if removing:
            # left the shop: the hook deleted this very session; end it here too (a new
            # empty one) so the answer is the login page, not "session interrupted"
            logout(request)
            return redirect(settings.LOGIN_URL)
        return redirect("merchants:home")  # stepped down: the team page is an owner's
    messages.success(request, done(member))
    return redirect("merchants:team")


@require_POST
@merchant_view
def team_role(request: HttpRequest, merchant, pk: int) -> HttpResponse:
    return _team_change(request, merchant, pk, lambda: team_services.membership_role_change(
        merchant=merchant, membership_id=pk, role=request.POST.get("role", ""), by=request.user),
        lambda m: _("%(user)s is now: %(role)s.") % {"user": m.user.get_username(), "role": m.get_role_display()})


@require_POST
@merchant_view
def team_remove(request: HttpRequest, merchant, pk: int) -> HttpResponse:
    return _team_change(request, merchant, pk, lambda: team_services.membership_remove(
        merchant=merchant, membership_id=pk, by=request.user),
        lambda m: _("%(user)s was removed from the shop and logged out everywhere.") % {"user": m.user.get_username()},
        removing=True)


@never_cache
@merchant_view
def api_tokens(request: HttpRequest, merchant) -> HttpResponse:
    """The owner's own API tokens: a new one is shown once, on this answer only."""
    new = error = None
    status = 200
    if request.method == "POST":
        try:
            if request.POST.get("revoke"):
                if not tokens.api_token_revoke(user=request.user, token_key=request.POST["revoke"]):
                    error = _("That token does not exist (any more).")
            else:
                new = tokens.api_token_create(user=request.user)[1]
        except tokens.TokenError as exc:
            error, status = _TOKEN_ERRORS[exc.code], 429 if exc.code == "too_many_token_requests" else 400
    context = {**_base_context(request, merchant), "tokens": tokens.tokens_of(user=request.user), "new": new,
               "error": error, "ttl_days": settings.API_TOKEN_TTL_DAYS}
    return render(request, "merchants/tokens.html", context, status=status)


# --- words ------------------------------------------------------------------------
@merchant_view
def glossary_page(request: HttpRequest, merchant) -> HttpResponse:
    """Every status badge links here: each term in both languages, the meaning in the
    page's language (a shop's staff do not all read the same one)."""
    sections = []
    for title, kind, terms in ((_("Swipes"), "swipe", glossary.SWIPE_TERMS),
                               (_("Bank credits"), "credit", glossary.CREDIT_TERMS),
                               (_("Your questions and our follow-up"), "case", glossary.CASE_TERMS)):
        rows = []
        for term in terms:
            with translation.override("zh-hans"):
                zh = str(term.label)
            with translation.override("en"):
                en = str(term.label)
            rows.append({"key": term.key, "label": str(term.label), "zh": zh, "en": en, "meaning": str(term.meaning),
                         "tone": term.tone})
        sections.append({"title": title, "kind": kind, "rows": rows})
    return render(request, "merchants/glossary.html", {**_base_context(request, merchant), "sections": sections})


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
@merchant_view
def export(request: HttpRequest, merchant) -> HttpResponse:
    form = ExportForm(request.GET or None, initial=ExportForm.default_initial())
    if not form.is_bound or not form.is_valid():
        status = 400 if form.is_bound else 200
        return render(request, "merchants/export.html", {**_base_context(request, merchant), "form": form}, status=status)
    query = selectors.SwipeQuery(date_from=form.cleaned_data["date_from"], date_to=form.cleaned_data["date_to"])
    rows = csv_export.with_case(selectors.swipes_find(merchant, query).select_related("payout")).order_by(
        "captured_at", "id")
    body = csv_export.lines(rows.iterator(chunk_size=2000), tz=ZoneInfo(merchant.timezone))
    filename = f"swipes-{merchant.merchant_no}-{form.cleaned_data['date_from']:%Y%m%d}-{form.cleaned_data['date_to']:%Y%m%d}.csv"
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
