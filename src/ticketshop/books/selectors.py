"""Reads of the books."""

from .models import InvoiceRequest, InvoiceStatus, Receipt


def list_order_receipts(*, order_id: int) -> list[Receipt]:
    """The order's receipts and credit receipts, oldest first."""
    return list(
        Receipt.objects.filter(order_id=order_id)
        .select_related("order", "original")
        .prefetch_related("lines")
        .order_by("year", "number")
    )


def get_order_receipt(*, order_id: int, code: str) -> Receipt | None:
    return (
        Receipt.objects.filter(order_id=order_id, code=code)
        .select_related("order", "original")
        .first()
    )


def list_invoice_requests(*, open_only: bool = False):
    queryset = InvoiceRequest.objects.select_related("order").order_by("-requested_at")
    if open_only:
        queryset = queryset.filter(status=InvoiceStatus.REQUESTED)
    return queryset
