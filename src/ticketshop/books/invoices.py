"""Invoice requests: the buyer asks, the treasurer sends or declines.

The owner of ``InvoiceRequest``'s status (``machines.INVOICE_REQUEST``);
a test (tests/books/test_invoice_owner.py) holds that no other module
writes it.
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ticketshop import audit as audit_log
from ticketshop.orders.lifecycle import lock_order
from ticketshop.orders.models import OrderStatus
from ticketshop.statemachine.machine import acting_as, staff_actor

from .errors import InvoiceNotPossible
from .identity import normalise_org_number
from .machines import INVOICE_REQUEST
from .models import InvoiceRequest, Receipt, ReceiptKind


def request_invoice(
    *,
    order_id: int,
    name: str,
    address: str,
    org_number: str = "",
    reference: str = "",
    now: datetime | None = None,
) -> InvoiceRequest:
    """Record a buyer's request for a full invoice of a paid order with a
    receipt. Raises ``InvoiceNotPossible`` (unpaid, no receipt, a request
    still open) or Django's ``ValidationError`` (organisation number)."""
    now = now or timezone.now()
    name, address = name.strip(), address.strip()
    if not name or not address:
        raise InvoiceNotPossible("name and address are required")
    org_number = normalise_org_number(org_number) if org_number.strip() else ""
    with transaction.atomic(durable=True), acting_as("buyer"):
        order = lock_order(order_id)
        if (
            order.status != OrderStatus.PAID
            or not Receipt.objects.filter(order=order, kind=ReceiptKind.SALE).exists()
        ):
            raise InvoiceNotPossible("the order is not paid or has no receipt")
        if InvoiceRequest.objects.filter(
            order=order, status=INVOICE_REQUEST["request"].target
        ).exists():
            raise InvoiceNotPossible("a request is already open")
        INVOICE_REQUEST.check("request", None)
        invoice = InvoiceRequest.objects.create(
            order=order,
            name=name[:200],
            address=address[:500],
            org_number=org_number,
            reference=reference.strip()[:200],
            requested_at=now,
        )
        INVOICE_REQUEST.save(invoice, "request", created=True)
    return invoice


def handle_invoice_request(
    *, user, request_id: int, sent: bool, note: str = "", now=None
) -> InvoiceRequest:
    """The treasurer marks a request sent (or declines it), with an audit
    entry, in one transaction."""
    now = now or timezone.now()
    name = "mark_sent" if sent else "decline"
    with transaction.atomic(durable=True), acting_as(staff_actor(user)):
        invoice = InvoiceRequest.objects.select_for_update().get(pk=request_id)
        INVOICE_REQUEST.check(name, invoice)
        before = invoice.status
        invoice.handled_at = now
        invoice.note = note.strip()
        INVOICE_REQUEST.save(invoice, name, ["handled_at", "note"])
        audit_log.record(
            user=user,
            action="invoice",
            summary=lambda: _summary(invoice, sent),
            order=invoice.order,
            before={"status": before},
            after={"status": invoice.status, "note": invoice.note},
        )
    return invoice


def _summary(invoice: InvoiceRequest, sent: bool) -> str:
    from django.utils.translation import gettext as _

    if sent:
        return _("Invoice sent to %(name)s for order %(reference)s") % {
            "name": invoice.name,
            "reference": invoice.order.reference,
        }
    return _("Invoice request of %(name)s for order %(reference)s declined") % {
        "name": invoice.name,
        "reference": invoice.order.reference,
    }
