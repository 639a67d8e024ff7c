"""A wrong address gets the shop's own 404 page; errors its 500 page; a favicon."""

import pytest
from django.test import RequestFactory
from django.utils import translation

from ticketshop.shop.views import server_error

pytestmark = pytest.mark.django_db


def test_404_is_a_page_of_the_shop_in_swedish(client, settings):
    settings.SHOP_ASSOCIATION_NAME = "Fysiksektionen"

    response = client.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="sv")

    assert response.status_code == 404
    page = response.content.decode()
    assert "Det finns ingen sida på den här adressen" in page
    assert "Fysiksektionen" in page
    assert 'class="site-header"' in page


def test_404_follows_the_readers_language(client):
    response = client.get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()


def test_500_is_a_page_of_the_shop(settings):
    settings.SHOP_ASSOCIATION_NAME = "Fysiksektionen"
    request = RequestFactory().get("/")
    with translation.override("en"):
        response = server_error(request)

    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong" in page
    assert "Fysiksektionen" in page


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert b"".join(response.streaming_content)[:4] == b"\x00\x00\x01\x00"
