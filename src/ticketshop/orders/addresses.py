"""The one check of a buyer's e-mail address, for the API and the back office.

An address is taken only if a mail server on the internet would take it:
at most 64 characters before the ``@`` and 254 in all, a domain name with a
dot (no ``[127.0.0.1]``, no ``localhost``, no ``.local`` or ``.test``), and
no invisible or control characters anywhere (a zero-width space copied along
with an address makes every mail to it bounce). The syntax rules are
email-validator's; the checks before it only pick a clearer message.

The domain may have letters such as å (it is sent in its ASCII form), the
part before the ``@`` may not: Django's SMTP backend cannot address such a
mailbox. What the buyer typed is kept as typed, without surrounding whitespace: the
local part is not lower-cased (a mail server may tell ``Bo`` from ``bo``).

It lives in ``orders`` because that is the lowest app that stores an
address; ``payments`` and ``backoffice`` import it from here.
"""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from email_validator import (
    SPECIAL_USE_DOMAIN_NAMES,
    EmailNotValidError,
    validate_email,
)

LOCAL_PART_MAX = 64
ADDRESS_MAX = 254

# Control, format (zero-width and direction marks), surrogate, private-use,
# unassigned, and line or paragraph separators.
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _has_invisible(value: str) -> bool:
    return any(
        unicodedata.category(c) in _INVISIBLE or (c.isspace() and c != " ")
        for c in value
    )


def validate_email_address(value: str) -> str:
    """Return the address without surrounding whitespace, or raise
    ValidationError (code ``invalid``) with a translated reason."""
    if not isinstance(value, str):
        raise ValidationError(_("Enter a valid e-mail address."), code="invalid")
    # Whitespace around the address is a typing slip; a zero-width character
    # is not whitespace to str.strip() and is refused below.
    address = value.strip()
    if _has_invisible(address):
        raise ValidationError(
            _(
                "The e-mail address contains an invisible character or a line "
                "break; type it again instead of pasting it."
            ),
            code="invalid",
        )
    local, _at, domain = address.rpartition("@")
    if len(local) > LOCAL_PART_MAX or len(address.encode("utf-8")) > ADDRESS_MAX:
        raise ValidationError(
            _(
                "The e-mail address is too long: at most %(local)d characters "
                "before the @ and %(all)d in all."
            )
            % {"local": LOCAL_PART_MAX, "all": ADDRESS_MAX},
            code="invalid",
        )
    if domain.startswith("["):
        raise ValidationError(
            _("After the @, give a domain name, not an IP address."),
            code="invalid",
        )
    top = domain.rstrip(".").rpartition(".")[2].lower()
    if (
        local
        and domain
        and ("." not in domain.strip(".") or top in SPECIAL_USE_DOMAIN_NAMES)
    ):
        raise ValidationError(
            _(
                "After the @, give a domain that receives mail from the "
                "internet (such as example.se), not a local host name."
            ),
            code="invalid",
        )
    if not local.isascii():
        # Django's SMTP backend cannot address such a mailbox (it encodes the
        # local part as a MIME word), and many servers lack SMTPUTF8.
        raise ValidationError(
            _(
                "Before the @, use only the letters a–z, digits and . _ + - "
                "(no å, ä, ö or other letters)."
            ),
            code="invalid",
        )
    try:
        validate_email(
            address,
            check_deliverability=False,
            allow_domain_literal=False,
            allow_smtputf8=False,
            allow_quoted_local=False,
            allow_display_name=False,
            strict=True,
            test_environment=False,
            globally_deliverable=True,
        )
    except EmailNotValidError as exc:
        raise ValidationError(
            _("Enter a valid e-mail address."), code="invalid"
        ) from exc
    return address
