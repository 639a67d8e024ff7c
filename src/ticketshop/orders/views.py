from django.conf import settings
from django.http import HttpResponse
from django.utils import timezone, translation
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from ticketshop.api import (
    MAX_TICKET_LINES,
    IdField,
    StrictIntegerField,
    format_money,
    format_time,
    parse_body,
    validate_items,
)
from ticketshop.api_errors import (
    BODY_ERRORS,
    CROSS_SITE_REQUEST,
    OUT_OF_TICKETS_SCHEMA,
    SERVER_ERROR,
    error_schema,
)
from ticketshop.release.services import (
    SESSION_QUEUE_KEY,
    admission_for,
    record_reservation,
)
from ticketshop.security.ratelimit import limit_client
from ticketshop.statemachine.actors import ActingAs

from .selectors import cached_chapterevents, list_chapterevents
from .services import TicketLine, reserve_tickets
from .sessions import get_session_order, keep_session_order


class GetChapterEventsView(APIView):
    """Events on sale, with the visible ticket types offered for them."""

    @extend_schema(
        operation_id="get_chapterevents",
        responses=inline_serializer(
            "ChapterEvents",
            {
                "chapter_events": inline_serializer(
                    "ChapterEvent",
                    {
                        "id": serializers.IntegerField(),
                        "title": serializers.CharField(),
                        "description": serializers.CharField(),
                        "location": serializers.CharField(),
                        "event_at": serializers.DateTimeField(),
                        "doors_open_at": serializers.DateTimeField(allow_null=True),
                        "sales_start_at": serializers.DateTimeField(allow_null=True),
                        "sales_stop_at": serializers.DateTimeField(),
                        "max_tickets_per_payment": serializers.IntegerField(),
                        "reservation_minutes": serializers.IntegerField(),
                        "ticket_types": serializers.ListField(
                            child=serializers.IntegerField()
                        ),
                        "tickets_left": serializers.IntegerField(min_value=0),
                        "ticket_type_limits": serializers.DictField(
                            child=serializers.IntegerField(min_value=0)
                        ),
                    },
                    many=True,
                ),
                "ticket_types": inline_serializer(
                    "TicketType",
                    {
                        "id": serializers.IntegerField(),
                        "price": serializers.CharField(),
                        "title": serializers.CharField(),
                        "description": serializers.CharField(),
                    },
                    many=True,
                ),
            },
        ),
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


class ReserveTicketView(ActingAs, APIView):
    actor = "buyer"
    """Hold seats for a limited time so that the buyer can pay."""

    class TicketLineInput(serializers.Serializer):
        ticket_type = IdField()
        count = StrictIntegerField(min_value=1)

    class InputSerializer(serializers.Serializer):
        chapter_event = IdField()
        # Capped before its lines are read (see MAX_TICKET_LINES).
        tickets = serializers.ListField(allow_empty=False, max_length=MAX_TICKET_LINES)

        def validate_tickets(self, value):
            return validate_items(
                ReserveTicketView.TicketLineInput, value, "bad ticket line"
            )

    @extend_schema(
        operation_id="reserve_ticket",
        # The body as the contract has it (the serializer checks the lines
        # one by one so that a bad line is InvalidRequestData, not a list).
        request=inline_serializer(
            "ReserveTicketRequest",
            {
                "chapter_event": IdField(),
                "tickets": inline_serializer(
                    "ReserveTicketLine",
                    {
                        "ticket_type": IdField(),
                        "count": StrictIntegerField(min_value=1),
                    },
                    many=True,
                    allow_empty=False,
                ),
            },
        ),
        responses={
            201: OpenApiResponse(
                description="reserved; Set-Cookie: sessionid carries the reservation"
            ),
            **BODY_ERRORS,
            403: error_schema(
                "too many tickets, sales not started, not enough seats left "
                "(with the number left), a queued event without an admission, "
                "or a cross-site request",
                "TooManyTickets",
                "SalesNotStarted",
                "NotAdmitted",
                CROSS_SITE_REQUEST,
                extra=OUT_OF_TICKETS_SCHEMA,
            ),
            404: error_schema(
                "no such event (or its sales stopped), or no such ticket type "
                "offered for it",
                "EventDoesNotExist",
                "TicketTypeDoesNotExist",
            ),
            429: error_schema(
                "more reservations from this address than RESERVATION_RATE_LIMIT "
                "allows; Retry-After says when to try again",
                "TooManyAttempts",
            ),
            503: error_schema(
                "the seat lock was not granted in time; nothing reserved; "
                "Retry-After says when to try again",
                "Busy",
            ),
            500: error_schema("server error (logged)", SERVER_ERROR),
        },
    )
    def post(self, request):
        # Counted before anything else, malformed requests included.
        limit_client(request, scope="reserve", rate=settings.RESERVATION_RATE_LIMIT)
        body = parse_body(self.InputSerializer, request)
        # A queued event (a fair release) admits only the session's admitted
        # entry; the hold below stays the only guard against overselling.
        entry = admission_for(
            event_id=body["chapter_event"],
            session_token=request.session.get(SESSION_QUEUE_KEY),
            tickets=sum(line["count"] for line in body["tickets"]),
        )
        order = reserve_tickets(
            event_id=body["chapter_event"],
            lines=[
                TicketLine(ticket_type_id=line["ticket_type"], count=line["count"])
                for line in body["tickets"]
            ],
            language=supported_language(request_language(request)),
            previous=get_session_order(request.session),
        )
        if entry is not None:
            record_reservation(entry, order)
        keep_session_order(request.session, order)
        return Response(status=201)


def request_language(request) -> str:
    """Return the request's language (cookie, then Accept-Language): sv or en."""
    return getattr(request, "LANGUAGE_CODE", "") or translation.get_language() or ""


def supported_language(language: str) -> str:
    """The shop's language for this one (sv, en), or "" if it has none: the
    order keeps it (written with the order), for the ticket e-mail."""
    try:
        return translation.get_supported_language_variant(language)
    except LookupError:
        return ""
