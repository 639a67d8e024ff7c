"""The one way from a buyer's session to their order, and back.

The session (a signed cookie) holds nothing but an unguessable order token.
It lives as long as the reservation plus ``SESSION_GRACE``, so that the buyer
can still pay (a started payment may take Swish several minutes) and see the
confirmation page afterwards.
"""

from datetime import timedelta

from .models import Order

SESSION_ORDER_KEY = "order_token"
SESSION_GRACE = timedelta(hours=1)


def session_order_token(session) -> str | None:
    """Return the order token the session holds, or None."""
    return session.get(SESSION_ORDER_KEY) or None


def get_session_order(session) -> Order | None:
    """Return the session's order (with its event), or None."""
    token = session_order_token(session)
    if not token:
        return None
    return Order.objects.select_related("event").filter(token=token).first()


def keep_session_order(session, order: Order) -> None:
    """Make the session hold the order for as long as its hold, plus the grace."""
    session[SESSION_ORDER_KEY] = order.token
    session.set_expiry(order.event.reservation_duration + SESSION_GRACE)
