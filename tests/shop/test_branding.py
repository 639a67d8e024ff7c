import pytest
from django.core.checks import run_checks

from ticketshop.shop.branding import contrast_ratio, text_colour_on

pytestmark = pytest.mark.django_db


def test_colours_and_logo_come_from_settings(client, settings):
    settings.SHOP_PRIMARY_COLOUR = "#7a0019"
    settings.SHOP_ACCENT_COLOUR = "#ffcc33"
    settings.SHOP_LOGO_URL = "https://example.org/logo.png"

    body = client.get("/").content.decode()

    assert "--primary: #7a0019;" in body
    assert "--on-primary: #ffffff;" in body
    assert "--accent: #ffcc33;" in body
    assert "--on-accent: #000000;" in body
    assert 'src="https://example.org/logo.png"' in body


def test_bundled_logo_is_used_without_a_setting(client, settings):
    settings.SHOP_LOGO_URL = ""

    body = client.get("/").content.decode()

    assert 'src="/static/shop/logo.svg"' in body


@pytest.mark.parametrize(
    "background", ["#000000", "#ffffff", "#1d3f72", "#f2b705", "#777777", "#ff0000"]
)
def test_text_on_any_brand_colour_meets_wcag_aa_contrast(background):
    assert contrast_ratio(background, text_colour_on(background)) >= 4.5


def test_malformed_colour_fails_the_start_up_check(settings):
    settings.SHOP_PRIMARY_COLOUR = "blue"

    errors = [e for e in run_checks() if e.id == "shop.E001"]

    assert len(errors) == 1
    assert "SHOP_PRIMARY_COLOUR" in errors[0].msg
