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


class RefundTooLate(RefundNotPossible):
    """The payment is older than Swish refunds (SWISH_REFUND_MAX_AGE_MONTHS):
    nothing is sent; the sentence says why and what to do instead."""

    def __init__(self, paid_on: str, months: int) -> None:
        from django.utils.translation import gettext

        super().__init__(
            gettext(
                "Swish pays back only payments of the last %(months)d months, "
                "and this one was made on %(date)s, so no refund was sent. Pay "
                "the buyer back another way (a bank transfer) and note it in "
                "the bookkeeping; the order is left as it is."
            )
            % {"months": months, "date": paid_on}
        )
        self.paid_on = paid_on
        self.months = months


class NothingDueAtDoor(ShopError):
    """The order owes nothing at the door (any more)."""


class MoreThanDueAtDoor(ShopError):
    """The amount is more than the order still owes at the door."""

    def __init__(self, due) -> None:
        super().__init__(f"only {due} kr is due")
        self.due = due
