"""The invoice request's state machine: its table (``INVOICE_REQUEST``).

Only ``books/invoices.py`` creates an ``InvoiceRequest`` or changes its
status, through this table: ``INVOICE_REQUEST.check`` then
``INVOICE_REQUEST.save`` (one history row in the same transaction).
"""

from ticketshop.statemachine.machine import Machine, Transition

from .models import InvoiceStatus

REQUESTED = InvoiceStatus.REQUESTED.value
SENT = InvoiceStatus.SENT.value
DECLINED = InvoiceStatus.DECLINED.value

INVOICE_REQUEST = Machine(
    "invoice_request",
    [
        Transition(
            "request",
            (None,),
            REQUESTED,
            {
                "who": "the buyer, from the order's page (a paid order with a receipt)",
                "treasurer": "sees it in the back office's invoice requests",
            },
        ),
        Transition(
            "mark_sent",
            (REQUESTED,),
            SENT,
            {
                "who": "the treasurer, after sending the invoice from the"
                " bookkeeping program",
                "treasurer": "nothing left to do; audited",
            },
        ),
        Transition(
            "decline",
            (REQUESTED,),
            DECLINED,
            {
                "who": "the treasurer, with a note (a duplicate, a wrong order)",
                "treasurer": "nothing left to do; audited",
            },
        ),
    ],
    states=(REQUESTED, SENT, DECLINED),
    columns=("who", "treasurer"),
    label=lambda request: f"{request.order.reference}#{request.pk}",
)
