from ticketshop.errors import ShopError


class RateLimited(ShopError):
    """The client sent more requests than its rate allows; try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after
