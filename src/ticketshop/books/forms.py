"""Forms of the books: the organiser's settings and the buyer's invoice request."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from .identity import normalise_org_number, normalise_vat_number
from .models import Organiser, VatStatus

ACCOUNT_FIELDS = [
    "account_bank",
    "account_swish",
    "account_cash",
    "account_sales_25",
    "account_sales_12",
    "account_sales_6",
    "account_sales_0",
    "account_vat_25",
    "account_vat_12",
    "account_vat_6",
    "account_refunds",
]


class OrganiserForm(forms.ModelForm):
    confirm = forms.BooleanField(
        label=_("I have checked these settings and the accounts with our books"),
        required=False,
    )

    class Meta:
        model = Organiser
        fields = [
            "legal_name",
            "org_number",
            "address",
            "vat_status",
            "vat_number",
            "receipt_prefix",
            *ACCOUNT_FIELDS,
        ]

    def clean_org_number(self):
        value = self.cleaned_data.get("org_number", "")
        return normalise_org_number(value) if value.strip() else ""

    def clean_receipt_prefix(self):
        value = self.cleaned_data.get("receipt_prefix", "").strip()
        if value and not value.replace("-", "").isalnum():
            raise ValidationError(_("Letters, digits and hyphens only."))
        return value

    def clean(self):
        data = super().clean()
        for name in ACCOUNT_FIELDS:
            value = (data.get(name) or "").strip()
            if value and not (value.isdigit() and len(value) == 4):
                self.add_error(name, _("A BAS account is four digits."))
        status = data.get("vat_status")
        org = data.get("org_number", "")
        if status == VatStatus.REGISTERED:
            if not org:
                self.add_error(
                    "org_number", _("A seller registered for VAT needs its number.")
                )
            else:
                try:
                    data["vat_number"] = normalise_vat_number(
                        data.get("vat_number", ""), org_number=org
                    )
                except ValidationError as exc:
                    self.add_error("vat_number", exc)
        else:
            data["vat_number"] = ""
        return data


class InvoiceRequestForm(forms.Form):
    name = forms.CharField(label=_("Name or company"), max_length=200)
    address = forms.CharField(
        label=_("Postal address"), max_length=500, widget=forms.Textarea({"rows": 3})
    )
    org_number = forms.CharField(
        label=_("Organisation number (companies and associations)"),
        max_length=13,
        required=False,
    )
    reference = forms.CharField(
        label=_("Your reference"), max_length=200, required=False
    )

    def clean_org_number(self):
        value = self.cleaned_data.get("org_number", "")
        return normalise_org_number(value) if value.strip() else ""


# The longest range one export or report covers: a year and a day.
MAX_RANGE_DAYS = 366


class DateRangeForm(forms.Form):
    """From and to (inclusive): the days of an export or a report."""

    start = forms.DateField(
        label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data=None, **kwargs):
        if data is not None:
            data = {
                "start": data.get("from", ""),
                "end": data.get("to", ""),
                **{k: v for k, v in data.items() if k not in ("from", "to")},
            }
        super().__init__(data, **kwargs)

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end:
            if end < start:
                raise ValidationError(_("The end is before the start."))
            if (end - start).days >= MAX_RANGE_DAYS:
                raise ValidationError(
                    _("Choose at most %(days)s days.") % {"days": MAX_RANGE_DAYS}
                )
        return cleaned


class SieForm(DateRangeForm):
    by = forms.ChoiceField(
        label=_("One voucher"),
        choices=[("day", _("per day")), ("night", _("per show night"))],
        initial="day",
        required=False,
        widget=forms.RadioSelect,
    )

    def clean_by(self):
        return self.cleaned_data.get("by") or "day"
