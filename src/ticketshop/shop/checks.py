"""Start-up checks of the shop's settings."""

from django.conf import settings
from django.core.checks import Error, register

from .branding import HEX_COLOUR


@register("ticketshop")
def check_shop_settings(app_configs, **kwargs):
    errors = []
    for name in ("SHOP_PRIMARY_COLOUR", "SHOP_ACCENT_COLOUR"):
        value = getattr(settings, name, "")
        if not HEX_COLOUR.match(value):
            errors.append(
                Error(
                    f"{name} must be a colour like #1d3f72, not {value!r}.",
                    id="shop.E001",
                )
            )
    if getattr(settings, "SHOP_FEW_LEFT_THRESHOLD", 0) < 0:
        errors.append(
            Error("SHOP_FEW_LEFT_THRESHOLD must not be negative.", id="shop.E002")
        )
    return errors
