"""The one way from a buyer's session to their order, and back.

The session (a signed cookie) holds nothing but an unguessable order token.
It lives as long as the order's hold plus ``SESSION_GRACE``, the payment
window: a payment started before the hold ends may take Swish several
minutes, and the buyer then still sees the confirmation page. After that
the session is over, whatever the cookie says: its order is no longer the
session's (``InvalidSession``), and the cookie is cleared.

The order's token is drawn anew when its payment starts
(``renew_session_order``), so that a copy of the cookie from before (one an
attacker reserved with and planted in the buyer's browser: session
fixation) no longer reaches the order being paid.
"""

from datetime import datetime, timedelta
from functools import cache

from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.utils import timezone

from ticketshop.db import sql
from ticketshop.events.models import ChapterEvent

from .models import Order

SESSION_ORDER_KEY = "order_token"
SESSION_GRACE = timedelta(hours=1)


def session_order_token(session) -> str | None:
    """Return the order token the session holds, or None."""
    return session.get(SESSION_ORDER_KEY) or None


def session_over(order: Order, *, now: datetime) -> bool:
    """Whether the buyer's session of this order has ended: its hold ended
    more than ``SESSION_GRACE`` ago and no payment is running."""
    return not order.payment_pending and order.expires_at + SESSION_GRACE <= now


def get_session_order(session, *, now: datetime | None = None) -> Order | None:
    """Return the session's order (with its event), or None.

    A session whose time is over (``session_over``) holds no order any more;
    it is cleared, so that the response drops the cookie.
    """
    token = session_order_token(session)
    if not token:
        return None
    order = order_by_token(token)
    if order is not None and session_over(order, now=now or timezone.now()):
        forget_session_order(session)
        return None
    return order


def order_by_token(token: str) -> Order | None:
    """The order of a token, with its event, or None. Every request of a
    buyer's pages asks it (the pay page's status poll every few seconds):
    one statement written once per process (``_order_by_token_sql``), not
    the ORM's query compiled anew each time (bench/README.md, "the buyer's
    status poll")."""
    alias = connection.alias
    with sql.prepared_cursor(alias) as cursor:
        cursor.execute(_order_by_token_sql(alias), [token])
        row = cursor.fetchone()
    if row is None:
        return None
    order, event = sql.read_models(alias, row, Order, ChapterEvent)
    order.event = event
    return order


@cache
def _order_by_token_sql(alias: str) -> str:
    """The order (``o``) of a token with its event (``v``); parameter: the
    token (unique: at most one row)."""
    # Only quoted names from the models go into the text; values are params.
    return (
        f"SELECT {sql.select_columns(alias, Order, 'o')},"  # noqa: S608
        f" {sql.select_columns(alias, ChapterEvent, 'v')}"
        f" FROM {sql.table(Order, 'o', using=alias)}"
        f" JOIN {sql.table(ChapterEvent, 'v', using=alias)}"
        f" ON {sql.column(ChapterEvent, 'pk', 'v', using=alias)}"
        f" = {sql.column(Order, 'event', 'o', using=alias)}"
        f" WHERE {sql.column(Order, 'token', 'o', using=alias)} = %s"
    )


def forget_session_order(session) -> None:
    """Drop the order from the session (the whole session, unless signed in)."""
    if SESSION_KEY in session:
        session.pop(SESSION_ORDER_KEY, None)
    else:
        session.flush()


def keep_session_order(session, order: Order) -> None:
    """Make the session hold the order until its hold ends, plus the grace."""
    session[SESSION_ORDER_KEY] = order.token
    session.set_expiry(order.expires_at + SESSION_GRACE)


def renew_session_order(session, order: Order) -> None:
    """Give the session a new key holding the order's new token (its payment
    started; see ``lifecycle.new_order_token``)."""
    session.cycle_key()
    keep_session_order(session, order)
