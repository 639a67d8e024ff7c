from ticketshop.errors import ShopError


class OrderNotPaid(ShopError):
    """Tickets are only sent for paid orders."""

    def __init__(self, reference: str):
        super().__init__(reference)
        self.reference = reference
