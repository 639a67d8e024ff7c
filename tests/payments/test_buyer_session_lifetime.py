"""A buyer's session lasts as long as its hold and payment, plus the payment
window (an hour), not the 24 hours of any cookie.

Over HTTP against the live server: once the hold ended more than an hour ago
with no payment running, the session's cookie is answered `400
"InvalidSession"` and cleared, by every endpoint that reads it; a cookie
whose own stated life is over is refused even if its order is still held.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ticketshop.orders.models import Order
from ticketshop.orders.sessions import SESSION_GRACE, keep_session_order
from ticketshop.security.sessions import SessionStore

COOKIE = settings.SESSION_COOKIE_NAME


def test_session_of_a_hold_over_for_more_than_the_grace_is_invalid(
    buyer, event_and_type
):
    event, ticket_type = event_and_type
    assert buyer.reserve(event, ticket_type).status_code == 201
    Order.objects.update(
        expires_at=timezone.now() - SESSION_GRACE - timedelta(minutes=1)
    )

    answer = buyer.http.get(f"{buyer.base}/session_payment_status/", timeout=30)
    assert answer.status_code == 400
    assert answer.json() == "InvalidSession"
    # The response drops the cookie.
    assert COOKIE not in buyer.http.cookies


def test_start_payment_on_a_session_that_is_over_is_invalid(buyer, event_and_type):
    event, ticket_type = event_and_type
    assert buyer.reserve(event, ticket_type).status_code == 201
    Order.objects.update(expires_at=timezone.now() - timedelta(hours=3))

    answer = buyer.start_payment()
    assert answer.status_code == 400
    assert answer.json() == "InvalidSession"
    assert not Order.objects.get().payment_pending


def test_session_of_a_hold_that_lapsed_lately_still_reads(buyer, event_and_type):
    event, ticket_type = event_and_type
    assert buyer.reserve(event, ticket_type).status_code == 201
    Order.objects.update(expires_at=timezone.now() - timedelta(minutes=30))

    assert buyer.status()["status"] == "FAILED_EXPIRED_RESERVATION"


def test_cookie_expires_with_the_hold_plus_the_grace(buyer, event_and_type):
    event, ticket_type = event_and_type
    assert buyer.reserve(event, ticket_type).status_code == 201
    order = Order.objects.get()
    cookie = next(c for c in buyer.http.cookies if c.name == COOKIE)
    # Max-Age is whole seconds counted from the response's own clock.
    stated = (order.expires_at + SESSION_GRACE).timestamp()
    assert abs(cookie.expires - stated) <= 2


def test_cookie_past_its_stated_life_is_refused(buyer, event_and_type):
    """A copy of the cookie is refused once the browser would have dropped it,
    even though its signature is younger than SESSION_COOKIE_AGE."""
    event, ticket_type = event_and_type
    assert buyer.reserve(event, ticket_type).status_code == 201
    order = Order.objects.get()
    # The same session as the shop writes it, with a life that ended a
    # minute ago, while the order is still held.
    old = SessionStore()
    keep_session_order(old, order)
    old.set_expiry(timezone.now() - timedelta(minutes=1))
    old.save()
    buyer.http.cookies.clear()
    buyer.http.cookies.set(COOKIE, old.session_key)

    answer = buyer.http.get(f"{buyer.base}/session_payment_status/", timeout=30)
    assert answer.status_code == 400
    assert answer.json() == "InvalidSession"
