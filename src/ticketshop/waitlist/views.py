"""The waiting list's pages (join, the offer's link) and its JSON API.

Pages work without JavaScript (plain forms); the offer's link is the key to
the offer, so its answers are never cached. Taking an offer keeps the new
reservation in the buyer's session and sends them to the shop's pay page.
"""

import secrets

from django.conf import settings
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.generic import TemplateView
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ticketshop.api import StrictIntegerField, parse_body
from ticketshop.api_errors import BODY_ERRORS, OUT_OF_TICKETS_SCHEMA, error_schema
from ticketshop.errors import ShopError
from ticketshop.events.models import ChapterEvent, TicketOffer
from ticketshop.orders.errors import OutOfTickets
from ticketshop.orders.sessions import keep_session_order
from ticketshop.release.services import SESSION_QUEUE_KEY
from ticketshop.security.ratelimit import limit_client
from ticketshop.shop.views import shop_context
from ticketshop.statemachine.actors import ActingAs

from . import services
from .errors import (
    AlreadyOnList,
    BadSeatCount,
    NotSoldOut,
    OfferBeingTaken,
    OfferNotOpen,
)

BROWSER_KEY = SESSION_QUEUE_KEY


def _private(response):
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


def _session_token(request) -> str:
    """A random id of this browser, kept in its (signed cookie) session as
    the queue keeps it: the session's own key is its content, the same for
    every empty session."""
    token = request.session.get(BROWSER_KEY)
    if not token:
        token = request.session[BROWSER_KEY] = secrets.token_urlsafe(16)
    return token


def _types(event_id: int):
    return list(
        TicketOffer.objects.filter(event_id=event_id, ticket_type__visible=True)
        .select_related("ticket_type")
        .order_by("ticket_type__price", "pk")
    )


def _message(exc: Exception) -> str:
    if isinstance(exc, OfferNotOpen):
        return _("This offer is no longer open: it was taken, declined or it lapsed.")
    if isinstance(exc, OfferBeingTaken):
        return _("This offer is being taken right now. Try again in a minute.")
    if isinstance(exc, BadSeatCount):
        return _("Choose between 1 and %(n)s tickets.") % {"n": exc.maximum}
    if isinstance(exc, OutOfTickets):
        return _("Not that many tickets of that type are left; choose another.")
    if isinstance(exc, NotSoldOut):
        return _("There are tickets left: buy them on the event's page.")
    if isinstance(exc, AlreadyOnList):
        return _("You are on this waiting list already (this browser or address).")
    return _("That did not work. Try again.")


class _Page(ActingAs, TemplateView):
    actor = "buyer"
    page = "waitlist"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(shop_context(self.page, self.request))
        return context


class JoinPage(_Page):
    """A sold-out event's waiting list: join with an address and a count."""

    template_name = "waitlist/join.html"

    def dispatch(self, request, *args, **kwargs):
        self.event = get_object_or_404(
            ChapterEvent, pk=kwargs["event_id"], sales_stop_at__gt=timezone.now()
        )
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        language = translation.get_language()
        context.update(
            event=self.event,
            event_title=self.event.title_in(language),
            counts=range(1, self.event.max_tickets_per_payment + 1),
            sold_out=services.seats_left(self.event) <= 0,
        )
        return context

    def post(self, request, *args, **kwargs):
        context = self.get_context_data()
        try:
            limit_client(request, scope="reserve", rate=settings.RESERVATION_RATE_LIMIT)
            wanted = int(request.POST.get("tickets", "0"))
            email = request.POST.get("email", "").strip()
            if "@" not in email or len(email) > 254:
                context["error"] = _("Enter a valid e-mail address.")
                return self.render_to_response(context, status=400)
            entry = services.join_waiting_list(
                event=self.event,
                session_token=_session_token(request),
                email=email,
                tickets_wanted=wanted,
                language=translation.get_language(),
            )
        except ValueError:
            context["error"] = _message(
                BadSeatCount(self.event.max_tickets_per_payment)
            )
            return self.render_to_response(context, status=400)
        except ShopError as exc:
            context["error"] = _message(exc)
            return self.render_to_response(context, status=409)
        context["joined"] = entry
        context["position"] = services.position(entry)
        return self.render_to_response(context)


class OfferPage(_Page):
    """The offer's link: take all or fewer, decline, or leave the list."""

    template_name = "waitlist/offer.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        token = self.kwargs["token"]
        offer = (
            services.Offer.objects.select_related("event").filter(token=token).first()
        )
        if offer is None:
            raise Http404
        language = translation.get_language()
        context.update(
            offer=offer,
            open=offer.state == "offered" and offer.expires_at > timezone.now(),
            event_title=offer.event.title_in(language),
            types=[
                (
                    t.ticket_type_id,
                    t.ticket_type.title_in(language),
                    t.ticket_type.price,
                )
                for t in _types(offer.event_id)
            ],
            counts=range(0, offer.seats + 1),
        )
        return context

    def get(self, request, *args, **kwargs):
        return _private(super().get(request, *args, **kwargs))

    def post(self, request, *args, **kwargs):
        token = kwargs["token"]
        action = request.POST.get("action", "")
        try:
            if action == "take":
                counts = _posted_counts(request.POST)
                order = services.take_offer(
                    token, counts=counts, language=translation.get_language()
                )
                keep_session_order(request.session, order)
                return HttpResponseRedirect(reverse("shop:pay"))
            if action == "decline":
                services.decline_offer(token)
                done = _("You declined the offer; the seats go to the next person.")
            elif action == "leave":
                services.leave_list(token)
                done = _("You have left the waiting list.")
            else:
                raise BadSeatCount(0)
        except (ShopError, ValueError) as exc:
            context = self.get_context_data()
            context["error"] = _message(exc)
            status = 410 if isinstance(exc, OfferNotOpen) else 409
            return _private(self.render_to_response(context, status=status))
        context = self.get_context_data()
        context["done"] = done
        return _private(self.render_to_response(context))


def _posted_counts(data) -> dict[int, int]:
    counts = {}
    for key, value in data.items():
        if key.startswith("type_") and value.strip():
            counts[int(key.removeprefix("type_"))] = int(value)
    if any(n < 0 for n in counts.values()):
        raise ValueError("negative count")
    return counts


# --- JSON ---------------------------------------------------------------------

OFFER_SCHEMA = inline_serializer(
    "WaitingListOffer",
    {
        "state": serializers.ChoiceField(["offered", "taken", "declined", "lapsed"]),
        "open": serializers.BooleanField(),
        "seats": serializers.IntegerField(),
        "expires_at": serializers.DateTimeField(),
        "chapter_event": serializers.IntegerField(),
    },
)
INVALID_COUNT_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "enum": ["InvalidTicketCount"]},
        "maximum": {"type": "integer", "minimum": 0},
    },
    "required": ["error", "maximum"],
}
INVALID_BODY = error_schema(
    "body malformed, not application/json, a field missing or of the wrong"
    " type; or a count outside what is allowed",
    "InvalidRequestData",
    extra=INVALID_COUNT_SCHEMA,
)
BUSY = error_schema("the seat lock was not granted in time; nothing done", "Busy")
OFFER_ERRORS = {
    404: error_schema("no offer has this token", "OfferDoesNotExist"),
    409: error_schema("another request is taking it", "OfferBeingTaken"),
    410: error_schema("taken, declined or lapsed", "OfferNotOpen"),
}


def _offer_json(offer) -> dict:
    return {
        "state": offer.state,
        "open": offer.state == "offered" and offer.expires_at > timezone.now(),
        "seats": offer.seats,
        "expires_at": offer.expires_at.isoformat(),
        "chapter_event": offer.event_id,
    }


class JoinApi(APIView):
    """Join a sold-out event's waiting list."""

    @extend_schema_serializer(component_name="WaitingListJoinRequest")
    class InputSerializer(serializers.Serializer):
        chapter_event = StrictIntegerField(min_value=1)
        email = serializers.EmailField(max_length=254)
        tickets = StrictIntegerField(min_value=1)

    @extend_schema(
        operation_id="join_waiting_list",
        request=InputSerializer,
        responses={
            201: inline_serializer(
                "WaitingListEntry",
                {
                    "position": serializers.IntegerField(),
                    "public_id": serializers.CharField(),
                },
            ),
            **BODY_ERRORS,
            400: INVALID_BODY,
            404: error_schema("no such event on sale", "EventDoesNotExist"),
            409: error_schema(
                "seats left, or this session or address is on the list",
                "NotSoldOut",
                "AlreadyOnWaitingList",
            ),
            429: error_schema("the reservation rate limit", "TooManyAttempts"),
            503: BUSY,
        },
    )
    def post(self, request):
        from ticketshop.events.errors import EventDoesNotExist

        limit_client(request, scope="reserve", rate=settings.RESERVATION_RATE_LIMIT)
        body = parse_body(self.InputSerializer, request)
        event = ChapterEvent.objects.filter(
            pk=body["chapter_event"], sales_stop_at__gt=timezone.now()
        ).first()
        if event is None:
            raise EventDoesNotExist()
        entry = services.join_waiting_list(
            event=event,
            session_token=_session_token(request),
            email=body["email"],
            tickets_wanted=body["tickets"],
            language=translation.get_language(),
        )
        return Response(
            {"position": services.position(entry), "public_id": entry.public_id},
            status=201,
        )


class OfferApi(APIView):
    """An offer's state (GET), or the buyer's answer (POST: take, decline,
    leave)."""

    @extend_schema_serializer(component_name="WaitingListOfferRequest")
    class InputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(["take", "decline", "leave"])
        tickets = serializers.DictField(
            child=StrictIntegerField(min_value=0), required=False
        )

    @extend_schema(
        operation_id="waiting_list_offer",
        responses={200: OFFER_SCHEMA, 404: OFFER_ERRORS[404]},
    )
    def get(self, request, token: str):
        offer = services.Offer.objects.filter(token=token).first()
        if offer is None:
            return _private(JsonResponse("OfferDoesNotExist", status=404, safe=False))
        return _private(JsonResponse(_offer_json(offer)))

    @extend_schema(
        operation_id="answer_waiting_list_offer",
        request=InputSerializer,
        responses={
            200: OFFER_SCHEMA,
            **BODY_ERRORS,
            400: INVALID_BODY,
            403: error_schema(
                "as reserve_ticket: not that many left of a type",
                "TooManyTickets",
                "SalesNotStarted",
                extra=OUT_OF_TICKETS_SCHEMA,
            ),
            **OFFER_ERRORS,
            404: error_schema(
                "as reserve_ticket: the event's sales stopped, or no such"
                " ticket type on sale",
                "EventDoesNotExist",
                "TicketTypeDoesNotExist",
            ),
            503: BUSY,
        },
    )
    def post(self, request, token: str):
        body = parse_body(self.InputSerializer, request)
        action = body["action"]
        if action == "take":
            try:
                counts = {int(k): v for k, v in body.get("tickets", {}).items()}
            except ValueError:
                raise BadSeatCount(0) from None
            order = services.take_offer(
                token, counts=counts, language=translation.get_language()
            )
            keep_session_order(request.session, order)
        elif action == "decline":
            services.decline_offer(token)
        else:
            services.leave_list(token)
        offer = services.Offer.objects.get(token=token)
        return _private(Response(_offer_json(offer)))
