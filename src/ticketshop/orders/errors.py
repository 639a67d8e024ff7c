from ticketshop.errors import ShopError


class TooManyTickets(ShopError):
    """More tickets than the event allows in one order."""

    def __init__(self, maximum: int) -> None:
        super().__init__(f"at most {maximum} tickets per order")
        self.maximum = maximum


class OutOfTickets(ShopError):
    """Not enough seats (or tickets of a limited type) are left."""

    def __init__(self, tickets_left: int) -> None:
        super().__init__(f"only {tickets_left} left")
        self.tickets_left = tickets_left


class InvalidSession(ShopError):
    """The session holds no reservation."""


class RenewalLimitReached(ShopError):
    """The hold has been renewed as often, or for as long, as allowed."""
