"""The association's branding for the shop's pages, read from settings."""

import re
from dataclasses import dataclass

from django.conf import settings
from django.templatetags.static import static
from django.urls import reverse

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
DARK_TEXT = "#000000"
LIGHT_TEXT = "#ffffff"


def _luminance(colour: str) -> float:
    """Return the WCAG relative luminance of a #rrggbb colour."""
    channels = []
    for i in (1, 3, 5):
        c = int(colour[i : i + 2], 16) / 255
        channels.append(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4)
    r, g, b = channels
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(first: str, second: str) -> float:
    """Return the WCAG contrast ratio of two #rrggbb colours (1 to 21)."""
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_colour_on(background: str) -> str:
    """Return black or white, whichever reads better on the background."""
    if contrast_ratio(background, DARK_TEXT) >= contrast_ratio(background, LIGHT_TEXT):
        return DARK_TEXT
    return LIGHT_TEXT


@dataclass(frozen=True)
class Branding:
    name: str
    primary: str
    on_primary: str
    accent: str
    on_accent: str
    logo_url: str
    terms_url: str


def get_branding() -> Branding:
    """Return the branding from settings (checked at start-up by shop.checks)."""
    primary = settings.SHOP_PRIMARY_COLOUR
    accent = settings.SHOP_ACCENT_COLOUR
    return Branding(
        name=settings.SHOP_ASSOCIATION_NAME,
        primary=primary,
        on_primary=text_colour_on(primary),
        accent=accent,
        on_accent=text_colour_on(accent),
        logo_url=settings.SHOP_LOGO_URL or static("shop/logo.svg"),
        terms_url=settings.SHOP_TERMS_URL or reverse("shop:terms"),
    )
