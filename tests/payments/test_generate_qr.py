"""GET /generate_qr/<token>: a PNG made here, 404 for a token of no order."""

import pytest

from tests.qr import decode_png

pytestmark = pytest.mark.django_db(transaction=True)


def test_qr_of_a_payment_token_is_a_png_of_that_token(buyer, event_and_type):
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)

    for path in (f"/generate_qr/{token}", f"/generate_qr/{token}/"):
        response = buyer.http.get(f"{buyer.base}{path}", timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/png"
        # What the Swish app's scanner reads: "D" and the token.
        assert decode_png(response.content) == [f"D{token}"]


def test_qr_of_an_unknown_token_is_404(client):
    response = client.get("/generate_qr/0123456789abcdef0123456789abcdef")
    assert response.status_code == 404
