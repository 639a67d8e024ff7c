from django.http import HttpResponse
from django.utils import timezone, translation
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ticketshop.api import (
    IdField,
    StrictIntegerField,
    format_money,
    format_time,
    parse_body,
)

from .models import Order
from .selectors import cached_chapterevents, list_chapterevents
from .services import TicketLine, reserve_tickets


class GetChapterEventsView(APIView):
    """Events on sale, with the visible ticket types offered for them."""

    @extend_schema(
        responses=inline_serializer(
            "ChapterEvents",
            {
                "chapter_events": serializers.ListField(child=serializers.DictField()),
                "ticket_types": serializers.ListField(child=serializers.DictField()),
            },
        )
    )
    def get(self, request):
        # Rendered once per process and second at most (see the selector),
        # in both languages at once; English readers get English texts
        # where the organiser wrote them, under the same keys.
        body = cached_chapterevents(self.render_listing)
        if request_language(request).startswith("en"):
            body = body.english
        return HttpResponse(body, content_type="application/json")

    @staticmethod
    def render_listing() -> "ListingBody":
        listing = list_chapterevents(now=timezone.now())
        body = ListingBody(GetChapterEventsView.render_in(listing, "sv"))
        body.english = GetChapterEventsView.render_in(listing, "en")
        return body

    @staticmethod
    def render_in(listing: dict, language: str) -> bytes:
        return JSONRenderer().render(
            {
                "chapter_events": [
                    {
                        "id": row["event"].id,
                        "title": row["event"].title_in(language),
                        "description": row["event"].description_in(language),
                        "location": row["event"].location,
                        "event_at": format_time(row["event"].event_at),
                        "doors_open_at": format_time(row["event"].doors_open_at),
                        "sales_start_at": format_time(row["event"].sales_start_at),
                        "sales_stop_at": format_time(row["event"].sales_stop_at),
                        "max_tickets_per_payment": row["event"].max_tickets_per_payment,
                        "reservation_minutes": row["event"].reservation_minutes,
                        "ticket_types": row["ticket_type_ids"],
                        "tickets_left": row["tickets_left"],
                        "ticket_type_limits": row["ticket_type_limits"],
                    }
                    for row in listing["events"]
                ],
                "ticket_types": [
                    {
                        "id": ticket_type.id,
                        "price": format_money(ticket_type.price),
                        "title": ticket_type.title_in(language),
                        "description": ticket_type.description_in(language),
                    }
                    for ticket_type in listing["ticket_types"]
                ],
            }
        )


class ListingBody(bytes):
    """The Swedish listing, carrying its English twin in ``english``."""

    english: bytes = b""


class ReserveTicketView(APIView):
    """Hold seats for a limited time so that the buyer can pay."""

    class TicketLineInput(serializers.Serializer):
        ticket_type = IdField()
        count = StrictIntegerField(min_value=1)

    class InputSerializer(serializers.Serializer):
        chapter_event = IdField()
        tickets = serializers.ListField(allow_empty=False)

        def validate_tickets(self, value):
            lines = []
            for item in value:
                line = ReserveTicketView.TicketLineInput(data=item)
                if not isinstance(item, dict) or not line.is_valid():
                    raise serializers.ValidationError("bad ticket line")
                lines.append(line.validated_data)
            return lines

    @extend_schema(request=InputSerializer, responses={201: None})
    def post(self, request):
        body = parse_body(self.InputSerializer, request)
        order = reserve_tickets(
            session=request.session,
            event_id=body["chapter_event"],
            lines=[
                TicketLine(ticket_type_id=line["ticket_type"], count=line["count"])
                for line in body["tickets"]
            ],
        )
        remember_language(order=order, language=request_language(request))
        return Response(status=201)


def request_language(request) -> str:
    """Return the request's language (cookie, then Accept-Language): sv or en."""
    return getattr(request, "LANGUAGE_CODE", "") or translation.get_language() or ""


def remember_language(*, order: Order, language: str) -> None:
    """Keep the language the buyer shops in, for the ticket e-mail.

    A separate UPDATE after the reservation has committed, so that the
    reservation's statements under the event lock stay as they are.
    """
    try:
        language = translation.get_supported_language_variant(language)
    except LookupError:
        return
    Order.objects.filter(pk=order.pk).update(language=language)
    order.language = language
