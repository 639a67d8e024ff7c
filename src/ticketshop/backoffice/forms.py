"""The back office's forms: what an organiser typed, read and checked in one
place, so that each view only binds its form, previews or confirms, calls
the use case (``services``) and renders.

The pages keep their own HTML (field names, layout); these forms read the
fields by those names. ``errors_in_order()`` gives a form's complaints in the
order the page lists them. Cancel's ticket choice is ``CancelForm`` in
``confirmations`` (it belongs to its preview).
"""

from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ticketshop.api import parse_id
from ticketshop.money import parse_amount
from ticketshop.orders.addresses import validate_email_address
from ticketshop.orders.models import PaymentMethod
from ticketshop.payments.models import DoorPaymentMethod

from . import services
from .models import Mailing

SUBJECT_MAX = Mailing._meta.get_field("subject").max_length


class LenientIdField(forms.Field):
    """A count or id typed into a form: anything that is not one reads as
    ``default`` (0), never as an error (parse_id refuses absurdly long
    numbers before int() would raise)."""

    def __init__(self, *, default: int = 0, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
        self.default = default

    def to_python(self, value) -> int:
        number = parse_id(value)
        return self.default if number is None else number


class LenientIdsField(forms.Field):
    """Several ids (checkboxes of one name); an unreadable one reads as 0."""

    widget = forms.MultipleHiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> list[int]:
        return [LenientIdField().to_python(v) for v in value or []]


class TypedTextField(forms.Field):
    """Text as typed, without surrounding whitespace; the use case or the
    form's own checks judge it (a control character, such as NUL, gets
    their words, not a generic one)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value) -> str:
        return value.strip() if isinstance(value, str) else ""


class EmailAddressField(forms.CharField):
    """An e-mail address with the shop's one check (its reasons in words)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("strip", False)
        super().__init__(**kwargs)

    def clean(self, value) -> str:
        return validate_email_address(value if value is not None else "")


class OrderedErrorsMixin:
    """The form's errors as one list, in the order the page shows them
    (``order``: field names, and the names ``place_error`` gives to errors
    of the whole form)."""

    order: tuple[str, ...] = ()

    def place_error(self, name: str, message: str) -> None:
        """An error of the whole form, listed at ``name``'s place."""
        self.add_error(None, message)
        self.__dict__.setdefault("_placed", {}).setdefault(name, []).append(message)

    def errors_in_order(self) -> list[str]:
        if not self.is_bound or self.is_valid():
            return []
        placed = self.__dict__.get("_placed", {})
        found = {name: [str(e) for e in errs] for name, errs in self.errors.items()}
        placed_texts = {str(m) for msgs in placed.values() for m in msgs}
        found["__all__"] = [
            e for e in found.get("__all__", []) if e not in placed_texts
        ]
        for name, msgs in placed.items():
            found[name] = [*found.get(name, []), *(str(m) for m in msgs)]
        names = [*self.order, *(n for n in found if n not in self.order)]
        return [e for name in names for e in found.get(name, [])]


# --- Complimentary and manual tickets ---------------------------------------------


class IssueForm(OrderedErrorsMixin, forms.Form):
    """Complimentary or manual tickets: how many of each offered type, for
    whom, paid how (and at which price, when not complimentary)."""

    order = ("price", "method", "count", "name", "email")

    method = TypedTextField()
    name = TypedTextField()
    email = EmailAddressField()
    over_capacity = forms.BooleanField(required=False)
    receipt = forms.BooleanField(required=False)

    def __init__(self, *args, offers, **kwargs):
        super().__init__(*args, **kwargs)
        self.offers = offers
        for offer in offers:
            self.fields[f"count_{offer.pk}"] = LenientIdField()
            self.fields[f"price_{offer.pk}"] = TypedTextField()

    def clean_method(self) -> str:
        method = self.cleaned_data.get("method") or PaymentMethod.COMPLIMENTARY
        if method not in services.ISSUE_METHODS:
            raise ValidationError(_("Choose complimentary, cash or invoice."))
        return method

    def clean_name(self) -> str:
        name = self.cleaned_data.get("name", "")
        if not name:
            raise ValidationError(_("Enter who the tickets are for."))
        return name

    def clean(self):
        cleaned = super().clean()
        counts = {
            o.ticket_type_id: cleaned.get(f"count_{o.pk}", 0) for o in self.offers
        }
        cleaned["counts"] = {t: n for t, n in counts.items() if n}
        if not cleaned["counts"]:
            self.place_error("count", _("Choose at least one ticket."))
        method = self.data.get("method") or PaymentMethod.COMPLIMENTARY
        cleaned["prices"] = None
        if method != PaymentMethod.COMPLIMENTARY:
            prices = {}
            for o in self.offers:
                raw = (cleaned.get(f"price_{o.pk}") or "").strip()
                try:
                    # Finite, two decimals, within the column and MAX_AMOUNT.
                    prices[o.ticket_type_id] = (
                        parse_amount(raw) if raw else o.ticket_type.price
                    )
                except ValueError as exc:
                    self.place_error(
                        "price",
                        _("Price of %(type)s: %(why)s")
                        % {"type": o.ticket_type.title, "why": exc},
                    )
                    break
            cleaned["prices"] = prices
        return cleaned

    def issue_request(self, event_id: int) -> services.IssueRequest:
        data = self.cleaned_data
        return services.IssueRequest(
            event_id=event_id,
            counts=data["counts"],
            name=data["name"],
            email=data["email"],
            method=data["method"],
            prices=data["prices"],
            allow_over_capacity=data["over_capacity"],
            receipt=data["receipt"],
        )


# --- Exchange ------------------------------------------------------------------------


class ExchangeForm(forms.Form):
    """The night to move to, and for each old ticket type the new one (the
    same type where the night offers it and nothing else was chosen)."""

    event = LenientIdField()

    def __init__(self, *args, old_types, **kwargs):
        super().__init__(*args, **kwargs)
        self.old_types = old_types
        for type_id in old_types:
            self.fields[f"type_{type_id}"] = LenientIdField()

    def type_map(self, offered) -> dict[int, int]:
        """Old type → new type, for the types the target night offers."""
        chosen = {}
        for type_id in self.old_types:
            new = self.cleaned_data.get(f"type_{type_id}", 0)
            if new in offered:
                chosen[type_id] = new
            elif type_id in offered:
                chosen[type_id] = type_id
        return chosen


# --- Money due at the door -----------------------------------------------------------


class CollectForm(OrderedErrorsMixin, forms.Form):
    """An amount paid at the door, how, and the key of this form (a second
    send of the same form collects nothing more)."""

    order = ("amount", "method")

    amount = TypedTextField()
    method = TypedTextField()
    key = TypedTextField()

    def clean_amount(self) -> Decimal:
        text = self.amount_text()
        try:
            amount = Decimal(text)
            if not amount.is_finite() or amount <= 0:
                raise InvalidOperation
        except InvalidOperation:
            raise ValidationError(_("Enter an amount above 0 kr.")) from None
        return amount.quantize(Decimal("0.01"))

    def clean_method(self) -> str:
        method = self.cleaned_data.get("method", "")
        if method not in DoorPaymentMethod.values:
            raise ValidationError(_("Choose cash or Swish at the door."))
        return method

    def clean_key(self) -> str:
        return (self.data.get("key") or "")[:64]

    def amount_text(self) -> str:
        """The amount as typed, for the page to show again."""
        return (self.data.get("amount") or "").strip().replace(",", ".")

    def error(self) -> str:
        """The first complaint (the page shows one)."""
        errors = self.errors_in_order()
        return errors[0] if errors else ""


# --- Find and fix --------------------------------------------------------------------


class FixForm(forms.Form):
    """Correct the buyer's address (and resend), or only resend (``do``)."""

    do = TypedTextField()
    email = EmailAddressField()

    @property
    def resend_only(self) -> bool:
        return self.data.get("do") == "resend"

    def error(self) -> str:
        errors = self.errors.get("email", [])
        return str(errors[0]) if errors else ""


# --- Mass e-mail ---------------------------------------------------------------------


class MailingForm(OrderedErrorsMixin, forms.Form):
    """Which events' buyers, and the subject and text of the e-mail."""

    order = ("event", "subject", "recipients")

    event = LenientIdsField()
    subject = TypedTextField()
    body = TypedTextField()

    def clean(self):
        cleaned = super().clean()
        chosen = cleaned.get("event") or []
        subject = cleaned.get("subject", "")
        body = cleaned.get("body", "")
        cleaned["recipients"] = services.mailing_recipients(chosen) if chosen else []
        # As typed, to show again: a field with an error leaves cleaned_data.
        self.typed = (chosen, subject, body, cleaned["recipients"])
        if not chosen:
            self.add_error("event", _("Choose at least one event."))
        if not subject or not body:
            self.add_error("subject", _("Write a subject and a text."))
        elif services.subject_has_control_characters(subject):
            self.add_error(
                "subject",
                _(
                    "Write the subject on one line, without line breaks "
                    "or other control characters."
                ),
            )
        elif len(subject) > SUBJECT_MAX:
            self.add_error(
                "subject",
                _("The subject is at most %(n)d characters.") % {"n": SUBJECT_MAX},
            )
        if not cleaned["recipients"] and chosen:
            self.place_error("recipients", _("These events have no paid buyers."))
        return cleaned

    def values(self) -> tuple[list[int], str, str, list[str]]:
        """Chosen events, subject, text and recipients as typed so far (also
        for a form with errors, to show it again)."""
        if not self.is_bound:
            return [], "", "", []
        self.is_valid()
        return self.typed


class ReleaseForm(forms.Form):
    """An event's sale mode and its queue's parameters (times in the shop's
    time zone, to the second; the admission time and offer times in the
    units organisers think in)."""

    mode = forms.ChoiceField(choices=(), label=gettext_lazy("Sale mode"))
    queue_opens_at = forms.DateTimeField(
        required=False, label=gettext_lazy("The queue opens")
    )
    sale_opens_at = forms.DateTimeField(
        required=False, label=gettext_lazy("The sale opens")
    )
    window_closes_at = forms.DateTimeField(
        required=False, label=gettext_lazy("The random window closes")
    )
    admit_minutes = forms.DecimalField(
        min_value=Decimal("0.5"),
        max_digits=6,
        label=gettext_lazy("Time to reserve once admitted (minutes)"),
    )
    max_checking_out = forms.IntegerField(
        min_value=1,
        max_value=100_000,
        label=gettext_lazy("At most this many buyers checking out at once"),
    )
    overbook_factor = forms.DecimalField(
        min_value=Decimal("1"),
        max_value=Decimal("2"),
        decimal_places=2,
        label=gettext_lazy("Overbooking factor (1.0–2.0)"),
    )
    bind_swish_number = forms.BooleanField(
        required=False, label=gettext_lazy("Bind each entry to a Swish number")
    )
    offer_hours_before_show_day = forms.DecimalField(
        min_value=Decimal("0.1"),
        max_value=Decimal("168"),
        max_digits=6,
        label=gettext_lazy("Waiting-list offer before the show day (hours)"),
    )
    offer_minutes_on_show_day = forms.IntegerField(
        min_value=1,
        max_value=24 * 60,
        label=gettext_lazy("Waiting-list offer on the show day (minutes)"),
    )

    def __init__(self, *args, **kwargs):
        from ticketshop.release.models import SaleMode

        super().__init__(*args, **kwargs)
        self.fields["mode"].choices = SaleMode.choices

    @staticmethod
    def initial_for(release) -> dict:
        """The form's values for a release (None: the defaults of a new one)."""
        from ticketshop.release.models import Release

        r = release or Release()
        return {
            "mode": r.mode,
            "queue_opens_at": r.queue_opens_at,
            "sale_opens_at": r.sale_opens_at,
            "window_closes_at": r.window_closes_at,
            "admit_minutes": Decimal(r.admit_seconds) / 60,
            "max_checking_out": r.max_checking_out,
            "overbook_factor": r.overbook_factor,
            "bind_swish_number": r.bind_swish_number,
            "offer_hours_before_show_day": Decimal(r.offer_seconds_before_show_day)
            / 3600,
            "offer_minutes_on_show_day": r.offer_seconds_on_show_day // 60,
        }

    def release_settings(self) -> services.ReleaseSettings:
        data = self.cleaned_data
        return services.ReleaseSettings(
            mode=data["mode"],
            queue_opens_at=data["queue_opens_at"],
            sale_opens_at=data["sale_opens_at"],
            window_closes_at=data["window_closes_at"],
            admit_seconds=int(data["admit_minutes"] * 60),
            max_checking_out=data["max_checking_out"],
            overbook_factor=data["overbook_factor"],
            bind_swish_number=data["bind_swish_number"],
            offer_seconds_before_show_day=int(
                data["offer_hours_before_show_day"] * 3600
            ),
            offer_seconds_on_show_day=data["offer_minutes_on_show_day"] * 60,
        )

    def errors_in_order(self) -> list[str]:
        return [
            f"{self.fields[name].label}: {message}"
            if name in self.fields
            else str(message)
            for name, messages in self.errors.items()
            for message in messages
        ]
