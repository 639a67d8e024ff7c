from ticketshop.errors import ShopError


class IncorrectPassword(ShopError):
    """The scanner password matches no active scanner account."""


class TooManyAttempts(ShopError):
    """Too many wrong scanner passwords from one client in the current window."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong passwords; retry after {retry_after}s")
        self.retry_after = retry_after


class TicketDoesNotExist(ShopError):
    """No ticket has the scanned external id."""
