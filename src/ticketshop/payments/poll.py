"""What the buyer's pages show of an order: the database only.

The status endpoint and the return page never call Swish: a callback
queues a read by a task worker, and open requests are read on a schedule
(``reads.py``), so a lost callback still never leaves the buyer waiting,
and a slow Swish never holds a request thread.
"""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from ticketshop.orders.models import Order
from ticketshop.orders.selectors import effective_status

from .models import SwishPayment
from .selectors import get_latest_payment


@dataclass(frozen=True)
class BuyerView:
    """An order as its buyer's pages see it."""

    order: Order
    status: str
    payment: SwishPayment | None


def read_order_for_buyer(*, order: Order, now: datetime | None = None) -> BuyerView:
    """Return the order's state for its buyer, from the database alone.

    The one source of session_payment_status and of the return page the Swish
    app opens, so both show the same state.
    """
    now = now or timezone.now()
    return BuyerView(
        order=order,
        status=effective_status(order, now=now),
        payment=get_latest_payment(order_id=order.pk),
    )
