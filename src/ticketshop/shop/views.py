"""The buyer's pages: server-rendered shells whose data comes from the public API.

Every page fetches what it shows from the same API a third-party front end
uses (get_chapterevents, reserve_ticket, start_payment, session_payment_status,
generate_qr), so the shop also proves the contract. The one exception is the
QR image of a paid ticket, which the API does not offer.
"""

import io

import segno
from django.conf import settings
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.views.generic import TemplateView, View

from .branding import get_branding
from .selectors import get_paid_ticket

# The contract's paths (api-contract.md); fixed, so not reversed by name.
API_PATHS = {
    "chapterevents": "/get_chapterevents/",
    "reserve": "/reserve_ticket/",
    "startPayment": "/start_payment/",
    "status": "/session_payment_status/",
    "generateQr": "/generate_qr/",
}
SIMULATOR_PAY_PATH = "/swish-simulator/pay/"


def demo_mode() -> bool:
    """True when payments go to the built-in Swish simulator."""
    return getattr(settings, "SWISH_ENVIRONMENT", "") == "simulator"


class ShopPageView(TemplateView):
    """A shop page: branding plus the configuration its script needs."""

    page = ""

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["branding"] = get_branding()
        context["demo_mode"] = demo_mode()
        context["shop_config"] = {
            "page": self.page,
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
        }
        return context


class HomeView(ShopPageView):
    template_name = "shop/home.html"
    page = "home"


class EventView(ShopPageView):
    template_name = "shop/event.html"
    page = "event"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["shop_config"]["eventId"] = self.kwargs["event_id"]
        return context


class PayView(ShopPageView):
    template_name = "shop/pay.html"
    page = "pay"


class ConfirmationView(ShopPageView):
    template_name = "shop/confirmation.html"
    page = "confirmation"


class TermsView(ShopPageView):
    template_name = "shop/terms.html"
    page = "terms"


class TicketQrView(View):
    """The QR code of one ticket of the session's own paid order, as SVG.

    404 for any ticket that is not in that order, so a ticket id alone never
    yields a scannable ticket.
    """

    def get(self, request, external_id: str):
        ticket = get_paid_ticket(
            session=request.session,
            external_id=external_id,
            now=timezone.now(),
        )
        if ticket is None:
            raise Http404()
        buffer = io.BytesIO()
        segno.make_qr(ticket.external_id, error="m").save(
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
