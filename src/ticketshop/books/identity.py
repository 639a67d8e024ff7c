"""Swedish organisation and VAT registration numbers."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

_ORG = re.compile(r"^(?:16)?(\d{6})-?(\d{4})$")


def luhn_ok(digits: str) -> bool:
    """The Luhn check (mod 10) over all ``digits``, the last one the check digit."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def normalise_org_number(value: str) -> str:
    """Return ``NNNNNN-NNNN``; ValidationError unless it is 10 digits (an
    optional ``16`` before them, an optional hyphen) passing the Luhn check."""
    match = _ORG.match((value or "").strip().replace(" ", ""))
    if not match:
        raise ValidationError(
            _("An organisation number is ten digits, such as 802412-3450."),
            code="format",
        )
    digits = match.group(1) + match.group(2)
    if not luhn_ok(digits):
        raise ValidationError(
            _("The organisation number's check digit is wrong: check for a typo."),
            code="luhn",
        )
    return f"{match.group(1)}-{match.group(2)}"


def vat_number_for(org_number: str) -> str:
    """The VAT registration number of an organisation number: SE…01."""
    return f"SE{org_number.replace('-', '')}01"


def normalise_vat_number(value: str, *, org_number: str) -> str:
    """Return ``SE`` + the organisation number's ten digits + ``01``, the
    only form Skatteverket gives; ValidationError otherwise."""
    cleaned = (value or "").strip().replace(" ", "").replace("-", "").upper()
    expected = vat_number_for(org_number) if org_number else ""
    if not re.fullmatch(r"SE\d{10}01", cleaned) or not luhn_ok(cleaned[2:12]):
        raise ValidationError(
            _(
                "A VAT registration number is SE, the ten digits of the "
                "organisation number and 01, such as SE802412345001."
            ),
            code="format",
        )
    if expected and cleaned != expected:
        raise ValidationError(
            _(
                "The VAT registration number must hold the organisation number "
                "(%(expected)s)."
            )
            % {"expected": expected},
            code="mismatch",
        )
    return cleaned
