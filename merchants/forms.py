from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from merchants import glossary
from merchants.selectors import SwipeQuery
from settlement.lifecycle import Status

MAX_EXPORT_DAYS = 366


def parse_amount(raw: str) -> Decimal | None:
    """Accepts what a shop owner types: 1280, 1,280.00, ¥1280, １２８０."""
    text = (raw or "").strip()
    if not text:
        return None
    text = text.translate({ord(c): ord("0") + i for i, c in enumerate("０１２３４５６７８９")})
    text = text.replace("¥", "").replace("￥", "").replace(",", "").replace("，", "").replace("．", ".").strip()
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise forms.ValidationError(_("Enter an amount like 1280.00."), code="invalid_amount") from None
    if not value.is_finite() or value <= 0 or value >= Decimal("1e12"):
        raise forms.ValidationError(_("Enter an amount like 1280.00."), code="invalid_amount")
    return value.quantize(Decimal("0.01"))


class SwipeSearchForm(forms.Form):
    reference = forms.CharField(label=_("Reference number (on the slip)"), required=False, max_length=64)
    amount = forms.CharField(label=_("Amount"), required=False, max_length=20)
    last4 = forms.RegexField(
        label=_("Card last 4 digits"), required=False, regex=r"^[0-9]{4}$",
        error_messages={"invalid": _("Enter exactly 4 digits.")},
    )
    terminal = forms.TypedChoiceField(label=_("Terminal"), required=False, coerce=int, empty_value=None)
    status = forms.ChoiceField(label=_("Status"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    late = forms.BooleanField(label=_("Only late payments"), required=False)

    def __init__(self, *args, terminals=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Only the merchant's own terminals are valid choices: another's id is a form error.
        # A callable: the terminals are only read when the select is rendered or a terminal
        # was given, so a lookup by reference that redirects costs no query for them.
        self.fields["terminal"].choices = lambda: [("", _("Any terminal"))] + [(t.pk, t.serial_number) for t in terminals]
        # The merchant pages' words for each status (merchants.glossary), not the staff ones.
        self.fields["status"].choices = [("", _("Any status"))] + [
            (t.key, t.label) for t in glossary.SWIPE_TERMS if t.key in Status.values]

    def clean_reference(self) -> str:
        return self.cleaned_data["reference"].strip()

    def clean_amount(self):
        return parse_amount(self.cleaned_data["amount"])

    def query(self) -> SwipeQuery:
        return SwipeQuery.from_cleaned(self.cleaned_data)


class ExportForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if end < start:
                raise forms.ValidationError(_("The end date is before the start date."), code="bad_range")
            if end - start > timedelta(days=MAX_EXPORT_DAYS):
                raise forms.ValidationError(_("Export at most one year at a time."), code="range_too_long")
        return data

    @staticmethod
    def default_initial() -> dict:
        today = timezone.localdate()
        return {"date_from": today - timedelta(days=30), "date_to": today}


class InquiryForm(forms.Form):
    message = forms.CharField(
        label=_("What is wrong?"), max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        initial="",
    )
