"""Start-up checks of the Swish settings (Django system checks).

They run with every management command and when the WSGI application starts
(ticketshop.wsgi refuses to start on an error), instead of raising while the
settings load.
"""

from pathlib import Path

from django.conf import settings
from django.core.checks import Error, register

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
