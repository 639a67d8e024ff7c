from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BooksConfig(AppConfig):
    name = "ticketshop.books"
    label = "books"
    verbose_name = _("Books")

    def ready(self) -> None:
        # The order's state machine says when a sale is made or reversed;
        # the receipt is written in that same transaction (orders never
        # imports books).
        from ticketshop.orders.signals import (
            door_payment_collected,
            order_exchanged,
            order_paid,
            order_sale_reversed,
        )

        from .receivers import (
            on_door_payment_collected,
            on_order_exchanged,
            on_order_paid,
            on_order_sale_reversed,
        )

        order_paid.connect(on_order_paid, dispatch_uid="books.receipt")
        order_sale_reversed.connect(
            on_order_sale_reversed, dispatch_uid="books.credit_receipt"
        )
        order_exchanged.connect(
            on_order_exchanged, dispatch_uid="books.exchange_credit_receipt"
        )
        door_payment_collected.connect(
            on_door_payment_collected, dispatch_uid="books.exchange_receipt"
        )
