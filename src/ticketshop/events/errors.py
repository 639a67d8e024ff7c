from ticketshop.errors import ShopError


class EventDoesNotExist(ShopError):
    """No such event, or its sales have stopped."""


class TicketTypeDoesNotExist(ShopError):
    """No such ticket type, it is hidden, or it is not offered for the event."""


class SalesNotStarted(ShopError):
    """The event's sales have not opened yet."""


class Busy(ShopError):
    """The event's seat lock was not granted in time; nothing was written."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"seat lock not granted; retry after {retry_after}s")
        self.retry_after = retry_after
