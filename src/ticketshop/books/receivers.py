"""The order's signals, answered with receipts in the same transaction."""

from .receipts import (
    issue_credit_receipt,
    issue_exchange_credit_receipt,
    issue_exchange_receipt,
    issue_receipt,
)


def on_order_paid(sender, order, now, **kwargs) -> None:
    issue_receipt(order=order, now=now)


def on_order_sale_reversed(sender, order, ticket_ids, now, **kwargs) -> None:
    issue_credit_receipt(order=order, ticket_ids=ticket_ids, now=now)


def on_order_exchanged(sender, order, now, **kwargs) -> None:
    issue_exchange_credit_receipt(order=order, now=now)


def on_door_payment_collected(sender, order, amount, method, now, **kwargs) -> None:
    issue_exchange_receipt(order=order, amount=amount, method=method, now=now)
