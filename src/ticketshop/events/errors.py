from ticketshop.db.locks import Busy
from ticketshop.errors import ShopError

__all__ = ["Busy", "EventDoesNotExist", "SalesNotStarted", "TicketTypeDoesNotExist"]


class EventDoesNotExist(ShopError):
    """No such event, or its sales have stopped."""


class TicketTypeDoesNotExist(ShopError):
    """No such ticket type, it is hidden, or it is not offered for the event."""


class SalesNotStarted(ShopError):
    """The event's sales have not opened yet."""
