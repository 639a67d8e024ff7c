from ticketshop.errors import ShopError


class NoQueue(ShopError):
    """The event has no queue (it is sold first come, first served)."""


class QueueNotOpen(ShopError):
    """The queue has not opened yet."""


class AlreadyInQueue(ShopError):
    """This browser session or e-mail address already has an entry."""


class NotInQueue(ShopError):
    """This browser session has no entry in the event's queue."""


class NotAdmitted(ShopError):
    """The event is queued and this session holds no admission (yet)."""


class SwishNumberRequired(ShopError):
    """The release binds entries to a Swish number and none (or a bad one) was given."""


class ConfirmationRequired(ShopError):
    """The entry's e-mail address must be confirmed before its order's
    payment may start."""


class TurnPassed(ShopError):
    """The entry's turn passed on: its hold lapsed with the address unconfirmed."""
