"""Start-up checks of the Swish settings (Django system checks).

They run with every management command and when the WSGI application starts
(ticketshop.wsgi refuses to start on an error), instead of raising while the
settings load.
"""

from pathlib import Path

from django.conf import settings
from django.core.checks import Error, register
from django.core.checks import Warning as CheckWarning

ENVIRONMENTS = ("simulator", "mss", "production")


@register("ticketshop")
def check_swish_settings(app_configs, **kwargs):
    errors = []
    environment = settings.SWISH_ENVIRONMENT
    if environment not in ENVIRONMENTS:
        errors.append(
            Error(
                "SWISH_ENVIRONMENT must be simulator, mss or production, "
                f"not {environment!r}.",
                id="payments.E001",
            )
        )
    if settings.PRODUCTION and environment != "production":
        # The simulator lets anyone "pay"; it must never take real orders.
        errors.append(
            Error(
                "DJANGO_ENV=production needs SWISH_ENVIRONMENT=production.",
                id="payments.E002",
            )
        )
    if environment != "production":
        return errors
    missing = [
        name
        for name in ("SWISH_CERT_PATH", "SWISH_KEY_PATH", "SWISH_PAYEE_ALIAS")
        if not getattr(settings, name)
    ]
    if missing:
        errors.append(
            Error(
                f"Swish in production needs {', '.join(missing)}.",
                id="payments.E003",
            )
        )
    for name in ("SWISH_CERT_PATH", "SWISH_KEY_PATH", "SWISH_CA_PATH"):
        path = getattr(settings, name)
        if path and not Path(path).is_file():
            errors.append(
                Error(f"Swish file not found: {path} ({name}).", id="payments.E004")
            )
    if not (settings.SWISH_CALLBACK_URL or settings.PUBLIC_BASE_URL).startswith(
        "https://"
    ):
        errors.append(
            Error(
                "Swish calls back only to HTTPS: set PUBLIC_BASE_URL.",
                id="payments.E005",
            )
        )
    return errors


# --- The certificate's content (ticketshop.payments.certificates) -------------
# Warnings only, never a refusal to start: an expired certificate must not stop
# free orders and the door. Reads the two files only (no network); the
# network checks (TLS with Swish's server, an authenticated call) are left to
# `manage.py check_swish` and the workers' hourly check, not every command.


@register("ticketshop")
def check_swish_certificate(app_configs, **kwargs):
    from .certificates import WARNING, check_configured_material, problems

    if settings.SWISH_ENVIRONMENT not in ("mss", "production"):
        return []
    cert, key = (settings.SWISH_CERT_PATH, settings.SWISH_KEY_PATH)
    if settings.SWISH_ENVIRONMENT == "production" and not (
        cert and key and Path(cert).is_file() and Path(key).is_file()
    ):
        return []  # E003 / E004 above already refuse
    codes = {
        "cert-unreadable": "W101",
        "cert-not-pem": "W101",
        "key-unreadable": "W102",
        "key-encrypted": "W102",
        "key-not-pem": "W102",
        "key-mismatch": "W103",
        "leaf-not-first": "W103",
        "expired": "W104",
        "not-yet-valid": "W104",
        "expiring": "W105",
        "wrong-alias": "W106",
        "no-chain": "W107",
    }
    return [
        CheckWarning(
            finding.text,
            hint=None if finding.level == WARNING else "Swish payments will fail.",
            id=f"payments.{codes.get(finding.code, 'W100')}",
        )
        for finding in problems(check_configured_material())
    ]
