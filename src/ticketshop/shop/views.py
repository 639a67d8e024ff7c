"""The buyer's pages: server-rendered shells whose data comes from the public API.

Every page fetches what it shows from the same API a third-party front end
uses (get_chapterevents, reserve_ticket, start_payment, session_payment_status,
generate_qr), so the shop also proves the contract. The one exception is the
QR image of a paid ticket, which the API does not offer.
"""

import io
import logging
from pathlib import Path

import segno
from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView, View

from ticketshop.books.errors import InvoiceNotPossible
from ticketshop.books.forms import InvoiceRequestForm
from ticketshop.books.invoices import request_invoice
from ticketshop.books.pdf import render_receipt_pdf
from ticketshop.books.selectors import get_order_receipt, list_order_receipts
from ticketshop.events.models import TicketType
from ticketshop.orders.models import Order, OrderStatus, RefundState
from ticketshop.orders.selectors import list_order_lines
from ticketshop.orders.sessions import get_session_order, session_order_token
from ticketshop.orders.signing import sign_ticket
from ticketshop.payments.common import UNKNOWN_OUTCOME
from ticketshop.payments.models import SwishStatus
from ticketshop.payments.poll import BuyerView, read_order_for_buyer
from ticketshop.release.services import queued_release
from ticketshop.statemachine.actors import ActingAs

from .branding import get_branding
from .return_links import (
    ReturnLinkExpired,
    ReturnLinkInvalid,
    make_return_value,
    read_return_value,
)
from .selectors import (
    get_paid_ticket_of_order,
    list_swedish_only_texts,
)

# The contract's paths (api-contract.md); fixed, so not reversed by name.
API_PATHS = {
    "chapterevents": "/get_chapterevents/",
    "reserve": "/reserve_ticket/",
    "startPayment": "/start_payment/",
    "status": "/session_payment_status/",
    "generateQr": "/generate_qr/",
}
SIMULATOR_PAY_PATH = "/swish-simulator/pay/"
FAVICON = Path(__file__).resolve().parent / "static" / "shop" / "favicon.ico"

logger = logging.getLogger(__name__)


def demo_mode() -> bool:
    """True when payments go to the built-in Swish simulator."""
    return getattr(settings, "SWISH_ENVIRONMENT", "") == "simulator"


class ShopPageView(ActingAs, TemplateView):
    actor = "buyer"
    """A shop page: branding plus the configuration its script needs."""

    page = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(shop_context(self.page, self.request))
        return context


def shop_context(page: str, request=None) -> dict:
    """Return what every shop page's base template needs."""
    session = getattr(request, "session", None)
    return {
        "branding": get_branding(),
        "demo_mode": demo_mode(),
        "shop_config": {
            "page": page,
            "api": API_PATHS,
            "simulatorPay": SIMULATOR_PAY_PATH if demo_mode() else None,
            "urls": {
                "home": reverse("shop:home"),
                "event": reverse("shop:event", args=[0]).replace("/0/", "/{id}/"),
                "pay": reverse("shop:pay"),
                "confirmation": reverse("shop:confirmation"),
                "ticketQr": reverse("shop:ticket_qr", args=["XXXXXX"]).replace(
                    "XXXXXX", "{id}"
                ),
            },
            "timeZone": settings.TIME_ZONE,
            "fewLeft": settings.SHOP_FEW_LEFT_THRESHOLD,
            # Whether the session holds an order at all: without one the
            # pages do not ask session_payment_status (its 400 would show
            # as an error in the browser's console).
            "hasOrder": bool(session is not None and session_order_token(session)),
            "swedishOnly": list_swedish_only_texts()
            if translation.get_language() != "sv"
            else {},
        },
    }


class HomeView(ShopPageView):
    template_name = "shop/home.html"
    page = "home"


class EventView(ShopPageView):
    template_name = "shop/event.html"
    page = "event"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["shop_config"]["eventId"] = self.kwargs["event_id"]
        # An event sold through a queue: its page points to the queue.
        context["release"] = queued_release(self.kwargs["event_id"])
        return context


class PayView(ShopPageView):
    template_name = "shop/pay.html"
    page = "pay"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        order = get_session_order(self.request.session)
        if order is not None:
            # The callbackurl for the Swish app: the order's return link,
            # which works in a browser without this session's cookie.
            context["shop_config"]["urls"]["payReturn"] = reverse(
                "shop:pay_return", args=[make_return_value(order)]
            )
        return context


class ConfirmationView(ShopPageView):
    template_name = "shop/confirmation.html"
    page = "confirmation"


class TermsView(ShopPageView):
    template_name = "shop/terms.html"
    page = "terms"


def _return_state(seen: BuyerView) -> str:
    """Name what the return page shows: paid, pending, unpaid, failed,
    cancelled; "unknown" (Swish lost the bank's answer, DS24: check with the
    bank) or "late" (the money arrived after the order was given up and its
    seats were gone: it is paid back)."""
    payment = seen.payment
    if seen.status == OrderStatus.PAID:
        return "paid"
    if seen.status == OrderStatus.FAILED_ADMIN:
        return "cancelled"
    if payment is not None and payment.status == SwishStatus.PAID:
        return "late"
    if (
        seen.status == OrderStatus.RESERVED
        and seen.order.payment_pending
        and payment is not None
        and payment.status == SwishStatus.ERROR
        and payment.error_code == UNKNOWN_OUTCOME
    ):
        return "unknown"
    if seen.status != OrderStatus.RESERVED:
        return "failed"
    return "pending" if seen.order.payment_pending else "unpaid"


def _live_ticket_ids(order: Order) -> list[str]:
    return list(
        order.tickets.filter(cancelled_at__isnull=True)
        .order_by("id")
        .values_list("external_id", flat=True)
    )


def _private(response: HttpResponse) -> HttpResponse:
    # The link is a key to the order's tickets: never cached or indexed.
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def _invalid_link(request, exc: ReturnLinkInvalid, *, as_json: bool):
    expired = isinstance(exc, ReturnLinkExpired)
    status = 410 if expired else 400
    if as_json:
        body = "ReturnLinkExpired" if expired else "InvalidReturnLink"
        return _private(JsonResponse(body, status=status, safe=False))
    context = shop_context("pay-return", request)
    context["expired"] = expired
    html = render_to_string("shop/pay_return_invalid.html", context, request)
    return _private(HttpResponse(html, status=status))


class PayReturnView(ActingAs, View):
    actor = "buyer"
    """Where the Swish app sends the buyer back: the order its signed link names.

    Works without the session cookie, and shows only that order's status,
    payment reference and tickets. The state comes from the same source as
    session_payment_status (asking Swish when due, rate-limited per order).
    """

    def get(self, request, signed: str):
        try:
            order = read_return_value(signed)
        except ReturnLinkInvalid as exc:
            return _invalid_link(request, exc, as_json=False)
        seen = read_order_for_buyer(order=order)
        order = seen.order
        language = translation.get_language()
        titles = {
            tt.pk: tt.title_in(language)
            for tt in TicketType.objects.filter(tickets__order=order).distinct()
        }
        lines = [
            {"title": titles.get(line["ticket_type"], ""), "count": line["count"]}
            for line in list_order_lines(order=order)
        ]
        state = _return_state(seen)
        context = shop_context("pay-return", request)
        context["shop_config"]["returnStatus"] = reverse(
            "shop:pay_return_status", args=[signed]
        )
        context["shop_config"]["returnState"] = state
        context.update(
            state=state,
            event_title=order.event.title_in(language),
            event_at=order.event.event_at,
            lines=lines,
            reference=order.payment_reference if state == "paid" else "",
            tickets=[
                {
                    "id": external_id,
                    "qr": reverse("shop:pay_return_qr", args=[signed, external_id]),
                }
                for external_id in (_live_ticket_ids(order) if state == "paid" else [])
            ],
            payment_status=seen.payment.status if seen.payment else "",
            payment_error=(seen.payment.error_code if seen.payment else "") or "",
            refunded=order.refund_state == RefundState.REFUNDED,
            receipts=[
                {
                    "code": receipt.code,
                    "credit": receipt.kind == "CREDIT",
                    "url": reverse(
                        "shop:pay_return_receipt", args=[signed, receipt.code]
                    ),
                }
                for receipt in list_order_receipts(order_id=order.pk)
            ],
            invoice_url=reverse("shop:pay_return_invoice", args=[signed]),
        )
        html = render_to_string("shop/pay_return.html", context, request)
        return _private(HttpResponse(html))


class PayReturnStatusView(ActingAs, View):
    actor = "buyer"
    """The return page's own poll: the state of the order its link names."""

    def get(self, request, signed: str):
        try:
            order = read_return_value(signed)
        except ReturnLinkInvalid as exc:
            return _invalid_link(request, exc, as_json=True)
        seen = read_order_for_buyer(order=order)
        state = _return_state(seen)
        body = {
            "state": state,
            "status": seen.status,
            "payment_pending": seen.order.payment_pending,
            "reference": seen.order.payment_reference or None,
            "tickets": list_order_lines(order=seen.order),
        }
        if state == "paid":
            body["external_ids"] = _live_ticket_ids(seen.order)
        return _private(JsonResponse(body))


class PayReturnReceiptView(View):
    """A receipt of the link's order as a PDF, in the reader's language."""

    def get(self, request, signed: str, code: str):
        try:
            order = read_return_value(signed)
        except ReturnLinkInvalid as exc:
            return _invalid_link(request, exc, as_json=True)
        receipt = get_order_receipt(order_id=order.pk, code=code)
        if receipt is None:
            raise Http404()
        pdf = render_receipt_pdf(receipt, language=translation.get_language())
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{receipt.code}.pdf"'
        return _private(response)


class InvoiceRequestView(ActingAs, View):
    """The buyer asks for a full invoice of the link's paid order."""

    actor = "buyer"

    def _page(
        self, request, signed, order, form, *, done=False, refused="", status=200
    ):
        context = shop_context("invoice", request)
        context.update(
            form=form,
            done=done,
            refused=refused,
            reference=order.reference,
            back=reverse("shop:pay_return", args=[signed]),
        )
        html = render_to_string("shop/invoice_request.html", context, request)
        return _private(HttpResponse(html, status=status))

    def get(self, request, signed: str):
        try:
            order = read_return_value(signed)
        except ReturnLinkInvalid as exc:
            return _invalid_link(request, exc, as_json=False)
        return self._page(request, signed, order, InvoiceRequestForm())

    def post(self, request, signed: str):
        try:
            order = read_return_value(signed)
        except ReturnLinkInvalid as exc:
            return _invalid_link(request, exc, as_json=False)
        form = InvoiceRequestForm(request.POST)
        if not form.is_valid():
            return self._page(request, signed, order, form, status=400)
        try:
            request_invoice(order_id=order.pk, **form.cleaned_data)
        except InvoiceNotPossible:
            return self._page(
                request, signed, order, form, refused="refused", status=409
            )
        return self._page(request, signed, order, None, done=True)


def _ticket_svg(ticket) -> HttpResponse:
    buffer = io.BytesIO()
    payload = sign_ticket(external_id=ticket.external_id, event_id=ticket.event_id)
    segno.make_qr(payload, error="m").save(
        buffer,
        kind="svg",
        scale=10,
        border=4,
        xmldecl=False,
        omitsize=True,
        title=ticket.external_id,
    )
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    # The image is a ticket: keep it out of shared caches.
    response["Cache-Control"] = "private, no-store"
    return response


class PayReturnTicketQrView(View):
    """A ticket's QR code for the return page: only of the link's paid order."""

    def get(self, request, signed: str, external_id: str):
        try:
            order = read_return_value(signed)
        except ReturnLinkInvalid as exc:
            return _invalid_link(request, exc, as_json=True)
        ticket = get_paid_ticket_of_order(
            order=order, external_id=external_id, now=timezone.now()
        )
        if ticket is None:
            raise Http404()
        return _ticket_svg(ticket)


class TicketQrView(View):
    """The QR code of one ticket of the session's own paid order, as SVG.

    404 for any ticket that is not in that order, so a ticket id alone never
    yields a scannable ticket.
    """

    def get(self, request, external_id: str):
        order = get_session_order(request.session)
        ticket = order and get_paid_ticket_of_order(
            order=order, external_id=external_id, now=timezone.now()
        )
        if ticket is None:
            raise Http404()
        return _ticket_svg(ticket)


def page_not_found(request, exception=None):
    """Answer 404 with a page of the shop, in the reader's language."""
    html = render_to_string(
        "shop/404.html", shop_context("not-found", request), request
    )
    return HttpResponse(html, status=404)


def server_error(request):
    """Answer 500 with a page of the shop; plain text if even that fails.

    The page needs only settings (branding), never the database, which may
    be what failed.
    """
    try:
        html = render_to_string(
            "shop/500.html", shop_context("error", request), request
        )
    except Exception:
        logger.exception("the 500 page itself failed to render")
        return HttpResponse(
            "Server error / Serverfel", status=500, content_type="text/plain"
        )
    return HttpResponse(html, status=500)


@require_GET
def favicon(request):
    """Serve the icon browsers ask for at /favicon.ico (admin, simulator…)."""
    response = FileResponse(FAVICON.open("rb"), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response
