"""The link that brings a buyer back from the Swish app to their order.

The Swish app opens the ``callbackurl`` of ``swish://paymentrequest`` in
whatever browser the phone prefers, which may not carry the shop's session
cookie (another browser, an in-app browser). The link names the order by a
signed, expiring value instead, so the page it opens can show that order's
status, reference and tickets, and nothing more (no name, no e-mail address,
no other order).
"""

from django.conf import settings
from django.core import signing

from ticketshop.orders.models import Order

# A salt of its own: no other signed value of the shop is accepted here.
RETURN_SALT = "ticketshop.shop.pay-return"


class ReturnLinkInvalid(Exception):
    """The link was tampered with, or names no order."""


class ReturnLinkExpired(ReturnLinkInvalid):
    """The link is genuine but older than SHOP_RETURN_LINK_MAX_AGE_SECONDS."""


def make_return_value(order: Order) -> str:
    """Return the signed, timestamped value naming the order in the link."""
    return signing.dumps(order.pk, salt=RETURN_SALT)


def read_return_value(value: str) -> Order:
    """Return the order the link names, with its event.

    Raises ReturnLinkExpired for a link past its age, ReturnLinkInvalid for
    anything else (a bad signature, an order that no longer exists).
    """
    try:
        order_id = signing.loads(
            value,
            salt=RETURN_SALT,
            max_age=settings.SHOP_RETURN_LINK_MAX_AGE_SECONDS,
        )
    except signing.SignatureExpired as exc:
        raise ReturnLinkExpired() from exc
    except signing.BadSignature as exc:
        raise ReturnLinkInvalid() from exc
    if isinstance(order_id, bool) or not isinstance(order_id, int):
        raise ReturnLinkInvalid()
    order = Order.objects.select_related("event").filter(pk=order_id).first()
    if order is None:
        raise ReturnLinkInvalid()
    return order
