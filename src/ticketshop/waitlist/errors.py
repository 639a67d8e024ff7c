from ticketshop.errors import ShopError


class OfferNotOpen(ShopError):
    """The offer was taken, declined or has lapsed (or no such offer)."""


class OfferBeingTaken(ShopError):
    """Another request is taking this offer right now."""


class BadSeatCount(ShopError):
    """Asked for no seats, or more than the offer holds."""

    def __init__(self, maximum: int) -> None:
        super().__init__(f"between 1 and {maximum} tickets")
        self.maximum = maximum


class NotSoldOut(ShopError):
    """The event has seats left (buy them), or its queue is still open."""


class AlreadyOnList(ShopError):
    """This browser session or e-mail address is on the list already."""
