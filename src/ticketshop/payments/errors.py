from ticketshop.errors import ShopError


class AlreadyPaidPayment(ShopError):
    """The session's order is already paid."""


class SessionExpired(ShopError):
    """The reservation expired and its seats are no longer free."""


class PaymentStartFailed(ShopError):
    """Swish refused the payment request or could not be reached."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PaymentTokenDoesNotExist(ShopError):
    """No order has a payment request with this token."""


class RefundNotPossible(ShopError):
    """The order has no paid Swish payment left to refund."""


class NothingDueAtDoor(ShopError):
    """The order owes nothing at the door (any more)."""


class MoreThanDueAtDoor(ShopError):
    """The amount is more than the order still owes at the door."""

    def __init__(self, due) -> None:
        super().__init__(f"only {due} kr is due")
        self.due = due
