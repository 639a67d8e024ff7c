import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/events/1/", "/pay/", "/confirmation/", "/terms/"]


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_with_branding_and_scripts(client, path, settings):
    settings.SHOP_ASSOCIATION_NAME = "Fysiksektionen"

    response = client.get(path)

    assert response.status_code == 200
    body = response.content.decode()
    assert "Fysiksektionen" in body
    assert "/static/shop/shop.css" in body
    assert "/static/shop/shop.js" in body
    assert 'id="shop-config"' in body
    assert 'href="#main"' in body  # skip link for keyboard users


def test_home_lists_events_through_the_api(client):
    body = client.get("/").content.decode()

    assert "/static/shop/home.js" in body
    assert '"chapterevents": "/get_chapterevents/"' in body
    assert 'id="events"' in body


def test_event_page_has_labelled_fields_and_terms_link(client, settings):
    settings.SHOP_TERMS_URL = "https://example.org/villkor"

    body = client.get("/events/7/").content.decode()

    assert '"eventId": 7' in body
    assert '<label for="email">' in body
    assert '<label for="email2">' in body
    assert '<label for="terms">' in body
    assert 'href="https://example.org/villkor"' in body
    assert 'role="timer"' in body


def test_terms_link_defaults_to_the_shops_own_page(client):
    body = client.get("/events/1/").content.decode()

    assert 'href="/terms/"' in body


def test_payment_page_offers_simulator_only_in_demo_mode(client, settings):
    settings.SWISH_ENVIRONMENT = "simulator"
    demo = client.get("/pay/").content.decode()
    settings.SWISH_ENVIRONMENT = "production"
    production = client.get("/pay/").content.decode()

    assert 'id="simulator-link"' in demo
    assert '"simulatorPay": "/swish-simulator/pay/"' in demo
    assert 'id="simulator-link"' not in production
    assert '"simulatorPay": null' in production


def test_pages_are_swedish_by_default(client):
    body = client.get("/").content.decode()

    assert '<html lang="sv">' in body
    assert "Kommande evenemang" in body


def test_few_left_threshold_reaches_the_page_script(client, settings):
    settings.SHOP_FEW_LEFT_THRESHOLD = 7

    body = client.get("/").content.decode()

    assert '"fewLeft": 7' in body
