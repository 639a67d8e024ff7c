"""What payments does when orders signals (orders never imports payments)."""

import logging

from .settle import cancel_superseded_order

logger = logging.getLogger(__name__)


def on_pending_order_superseded(sender, order, **kwargs) -> None:
    """Cancel the Swish request of an order its session is replacing.

    Never raises: the buyer's new reservation goes ahead regardless, and an
    order whose cancel is not confirmed keeps its seats until reconciliation.
    """
    try:
        cancel_superseded_order(order=order)
    except Exception:
        logger.exception("cancelling the payment of superseded order %s", order.pk)
