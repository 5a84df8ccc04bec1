"""The merchant's monthly statement (对账单): swipes of the month's business dates, the bank
credits received in the month, fees, and the reconciliation state, as a printable page
and a CSV. The figures are plain sums over the same rows staff see, computed in SQL."""

import csv
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.csv_safety import safe_row
from merchants.presentation import status_label
from merchants.views import _base_context, merchant_view
from settlement.models import Payout, ReconciliationBreak, ReconciliationRun, Transaction

ZERO = Decimal("0.00")


class MonthForm(forms.Form):
    month = forms.RegexField(regex=r"^\d{4}-(0[1-9]|1[0-2])$", label=gettext_lazy("Month (YYYY-MM)"),
                             required=False)


@dataclass(frozen=True)
class Statement:
    month: date
    swipes: int
    gross: Decimal
    fees: Decimal
    net: Decimal
    credits: int
    credited: Decimal
    open_breaks: int
    break_difference: Decimal
    reconciled_days: int

    @property
    def state(self) -> str:
        """reconciled / differences / not_yet (no settlement file of the month yet)."""
        if self.open_breaks:
            return "differences"
        return "reconciled" if self.reconciled_days else "not_yet"


def _bounds(month: date) -> tuple[date, date]:
    following = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return month, following


def statement_swipes(merchant, month: date):
    start, end = _bounds(month)
    return Transaction.objects.filter(merchant=merchant, business_date__gte=start, business_date__lt=end)


def statement_credits(merchant, month: date):
    start, end = _bounds(month)
    tz = ZoneInfo(merchant.timezone)
    return Payout.objects.filter(
        merchant=merchant, status=Payout.Status.CREDITED,
        credited_at__gte=datetime.combine(start, time(0), tzinfo=tz),
        credited_at__lt=datetime.combine(end, time(0), tzinfo=tz),
    )


def statement_for(merchant, month: date) -> Statement:
    start, end = _bounds(month)
    s = statement_swipes(merchant, month).aggregate(n=Count("id"), gross=Sum("amount"), fees=Sum("fee"),
                                                    net=Sum("net"))
    c = statement_credits(merchant, month).aggregate(n=Count("id"), amount=Sum("amount"))
    b = ReconciliationBreak.objects.filter(
        merchant=merchant, business_date__gte=start, business_date__lt=end,
        status__in=ReconciliationBreak.OPEN_STATUSES,
    ).aggregate(n=Count("id"), difference=Sum("difference"))
    days = ReconciliationRun.objects.filter(
        channel_id=merchant.channel_id, business_date__gte=start, business_date__lt=end, file__is_current=True,
    ).aggregate(n=Count("business_date", distinct=True))["n"]
    return Statement(month, s["n"], s["gross"] or ZERO, s["fees"] or ZERO, s["net"] or ZERO, c["n"],
                     c["amount"] or ZERO, b["n"], b["difference"] or ZERO, days)


def _month(request: HttpRequest, merchant) -> date:
    form = MonthForm(request.GET or None)
    value = form.cleaned_data.get("month") if form.is_valid() else ""
    if value:
        year, month = value.split("-")
        return date(int(year), int(month), 1)
    today = timezone.now().astimezone(ZoneInfo(merchant.timezone)).date()
    return today.replace(day=1)


class _Echo:
    def write(self, value: str) -> str:
        return value


@merchant_view
def statement(request: HttpRequest, merchant) -> HttpResponse:
    month = _month(request, merchant)
    summary = statement_for(merchant, month)
    swipes = statement_swipes(merchant, month).select_related("payout").order_by("business_date", "captured_at", "id")
    credits = statement_credits(merchant, month).annotate(swipes=Count("transactions")).order_by("credited_at", "id")
    if request.GET.get("format") == "csv":
        return _csv(merchant, month, summary, swipes, credits)
    return render(request, "merchants/statement.html", {
        **_base_context(request, merchant), "summary": summary, "month": month,
        "swipes": swipes, "credits": credits, "breaks": ReconciliationBreak.objects.filter(
            merchant=merchant, business_date__gte=month, business_date__lt=_bounds(month)[1],
            status__in=ReconciliationBreak.OPEN_STATUSES).filter(~Q(kind="file_missing")).order_by(
            "business_date", "id")[:100],
    })


def _csv(merchant, month: date, summary: Statement, swipes, credits) -> StreamingHttpResponse:
    tz = ZoneInfo(merchant.timezone)
    labels = {}

    def fmt(value) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if value else ""

    headers = [_("Business date"), _("Reference"), _("Time"), _("Amount"), _("Fee"), _("Net"), _("Status"),
               _("Bank credit")]
    totals = [[_("Swipes"), summary.swipes], [_("Amount"), f"{summary.gross:.2f}"], [_("Fee"), f"{summary.fees:.2f}"],
              [_("Net"), f"{summary.net:.2f}"], [_("Bank credits"), summary.credits],
              [_("Credited"), f"{summary.credited:.2f}"]]
    credit_headers = [_("Bank credit"), _("Arrived at"), _("Amount"), _("Swipes")]
    for value in Transaction.Status.values:
        labels[value] = status_label(value)

    def lines():
        writer = csv.writer(_Echo())
        yield "\ufeff" + writer.writerow([_("Statement"), merchant.merchant_no, f"{month:%Y-%m}"])
        for row in totals:
            yield writer.writerow(row)
        yield writer.writerow([])
        yield writer.writerow(headers)
        for t in swipes.iterator(chunk_size=2000):
            yield writer.writerow(safe_row([
                t.business_date.isoformat(), t.reference, fmt(t.captured_at), f"{t.amount:.2f}", f"{t.fee:.2f}",
                f"{t.net:.2f}", labels.get(t.status, t.status), t.payout.reference if t.payout else ""]))
        yield writer.writerow([])
        yield writer.writerow(credit_headers)
        for p in credits:
            yield writer.writerow(safe_row([p.reference, fmt(p.credited_at), f"{p.amount:.2f}", p.swipes]))

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="statement-{merchant.merchant_no}-{month:%Y%m}.csv"'
    return response
