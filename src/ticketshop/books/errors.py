from ticketshop.errors import ShopError


class InvoiceNotPossible(ShopError):
    """The order cannot get an invoice request now (the reason is kept)."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
