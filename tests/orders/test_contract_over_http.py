"""Rows of the contract checked over real HTTP against the live server:
SalesNotStarted leaves nothing behind, and the session cookie's flags (Secure
in production)."""

import base64
import json
import secrets
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from tests.factories import event_with_types
from tests.fresh_process import WSGI, run_fresh
from ticketshop.orders.models import Order, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def reserve(base, session, event, ticket_type, count=1):
    return session.post(
        f"{base}/reserve_ticket/",
        json={
            "chapter_event": event.id,
            "tickets": [{"ticket_type": ticket_type.id, "count": count}],
        },
        timeout=30,
    )


def test_sales_not_started_leaves_nothing_behind(live_server):
    event, (standard, _) = event_with_types(
        seats=10, sales_start_at=timezone.now() + timedelta(days=1)
    )
    buyer = requests.Session()

    response = reserve(live_server.url, buyer, event, standard, 2)

    assert response.status_code == 403
    assert response.json() == "SalesNotStarted"
    assert not Order.objects.exists()
    assert not Ticket.objects.exists()
    # The session holds no reservation, and the seats are all still there.
    status = buyer.get(f"{live_server.url}/session_payment_status/", timeout=30)
    assert status.status_code == 400
    assert status.json() == "InvalidSession"
    listing = buyer.get(f"{live_server.url}/get_chapterevents/", timeout=30).json()
    assert [e["tickets_left"] for e in listing["chapter_events"]] == [10]


COOKIE_SETTINGS = [
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
]


def session_cookie_settings(tmp_path, **env) -> dict:
    """The session cookie settings of a server started with env."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("cert")
    key.write_text("key")
    result = run_fresh(
        f"{WSGI}; import json; from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {COOKIE_SETTINGS!r}}}))",
        tmp_path,
        SWISH_CERT_PATH=str(cert),
        SWISH_KEY_PATH=str(key),
        **env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


PRODUCTION = {
    "DJANGO_ENV": "production",
    # Production refuses a guessable key and a missing signing key.
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "TICKET_SIGNING_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32))
    .rstrip(b"=")
    .decode(),
    "DJANGO_ALLOWED_HOSTS": "shop.example.org",
    "SWISH_ENVIRONMENT": "production",
    "PUBLIC_BASE_URL": "https://shop.example.org",
    "SWISH_PAYEE_ALIAS": "1231181189",
}


@pytest.mark.parametrize(
    ("env", "secure"), [(PRODUCTION, True), ({}, False)], ids=["production", "demo"]
)
def test_session_cookie_is_secure_in_production_only(
    live_server, settings, tmp_path, env, secure
):
    """A server started as in production sets the reservation's cookie with
    Secure (and HttpOnly, SameSite=Lax); the demo, served over plain HTTP on
    127.0.0.1, without Secure, or its buyers could not keep a reservation."""
    cookie_settings = session_cookie_settings(tmp_path, **env)
    assert cookie_settings["SESSION_COOKIE_SECURE"] is secure
    for name, value in cookie_settings.items():
        setattr(settings, name, value)
    event, (standard, _) = event_with_types()

    response = reserve(live_server.url, requests.Session(), event, standard)

    assert response.status_code == 201
    (cookie,) = [
        c for c in response.raw.headers.getlist("Set-Cookie") if "sessionid=" in c
    ]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert cookie.startswith("sessionid=")
    assert ("secure" in attributes) is secure
    assert "httponly" in attributes
    assert "samesite=lax" in {part.strip().lower() for part in cookie.split(";")}
