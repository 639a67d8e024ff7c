"""Start-up checks of settings, run while settings.py loads.

A system check cannot stop gunicorn (it runs only the checks tagged
``ticketshop``) nor a task worker, so a setting that would make requests
fail later is refused here, with one sentence that names it. No Django
apps are imported: the settings are still loading.
"""

import base64
import binascii
import re

from django.core.exceptions import ImproperlyConfigured

MIN_SECRET_KEY_LENGTH = 50
# Django's own floor (check --deploy, security.W009) is 5 different
# characters; a generated key of 50 characters has about 30.
MIN_SECRET_KEY_DISTINCT = 20

_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_UNITS.update({"h": 3600, "hour": 3600})
_RATE_RE = re.compile(r"^\s*(\d{1,9})\s*/\s*(\d{0,6})\s*([a-z]+)\s*$")
_GENERATE_KEY = "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'"


def parse_rate(text: str) -> tuple[int, int] | None:
    """Parse "20/min", "100/h" or "5/10s" to (requests, seconds); "" is None."""
    if not text or not text.strip():
        return None
    match = _RATE_RE.match(text.lower())
    if not match or match.group(3) not in _UNITS:
        raise ValueError(f"not a rate: {text!r} (use e.g. 20/min)")
    count, multiple, unit = match.groups()
    seconds = (int(multiple) if multiple else 1) * _UNITS[unit]
    if int(count) < 1 or seconds < 1:
        raise ValueError(f"not a rate: {text!r} (use e.g. 20/min)")
    return int(count), seconds


def check_rate(name: str, text: str) -> str:
    """Return the rate text, or refuse to start on one that does not parse."""
    try:
        parse_rate(text)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is {exc}.") from None
    return text


def whole_number(env, name: str, default: int, *, minimum: int) -> int:
    """Read a whole-number setting; refuse to start on anything else."""
    raw = env.str(name, default="")
    if not raw.strip():
        return default
    text = raw.strip()
    if not re.fullmatch(r"-?\d{1,12}", text) or int(text) < minimum:
        raise ImproperlyConfigured(
            f"{name} must be a whole number of at least {minimum}, not {raw!r}."
        )
    return int(text)


def secret_key_problem(key: str) -> str | None:
    """Why this key is too weak for production, or None."""
    if len(key) < MIN_SECRET_KEY_LENGTH:
        return (
            f"DJANGO_SECRET_KEY must be at least {MIN_SECRET_KEY_LENGTH} random"
            f" characters in production ({_GENERATE_KEY})."
        )
    distinct = len(set(key))
    if distinct < MIN_SECRET_KEY_DISTINCT or key.startswith("django-insecure-"):
        return (
            f"DJANGO_SECRET_KEY looks made by hand ({distinct} different"
            f" characters; production needs at least {MIN_SECRET_KEY_DISTINCT}"
            f" and no django-insecure- prefix): generate one ({_GENERATE_KEY})."
        )
    return None


def signing_key_problem(text: str) -> str | None:
    """Why TICKET_SIGNING_KEY cannot sign tickets in production, or None."""
    how = "manage.py ticket_signing_key --generate prints one"
    if not text.strip():
        return f"TICKET_SIGNING_KEY must be set in production ({how})."
    try:
        if not text.strip().isascii():
            raise ValueError
        raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    except (ValueError, binascii.Error):
        return f"TICKET_SIGNING_KEY is not base64url ({how})."
    if len(raw) != 32:
        return f"TICKET_SIGNING_KEY must be 32 bytes in base64url ({how})."
    return None
