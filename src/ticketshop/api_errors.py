"""The only home of the contract's error strings.

Maps each domain error to its status and body for DRF's EXCEPTION_HANDLER,
and DRF's own parse and validation errors to 400 "InvalidRequestData".
Anything else is a 500, logged with context.
"""

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from .api import BodyTooLarge, InvalidRequestData, format_money
from .db.locks import Busy
from .events.errors import (
    EventDoesNotExist,
    SalesNotStarted,
    TicketTypeDoesNotExist,
)
from .orders.errors import InvalidSession, OutOfTickets, TooManyTickets
from .payments.errors import (
    AlreadyPaidPayment,
    MoreThanDueAtDoor,
    NothingDueAtDoor,
    PaymentStartFailed,
    PaymentTokenDoesNotExist,
    SessionExpired,
)
from .release.errors import (
    AlreadyInQueue,
    ConfirmationRequired,
    NoQueue,
    NotAdmitted,
    NotInQueue,
    QueueNotOpen,
    SwishNumberRequired,
)
from .scanning.errors import IncorrectPassword, TicketDoesNotExist, TooManyAttempts
from .security.errors import RateLimited
from .waitlist.errors import (
    AlreadyOnList,
    BadSeatCount,
    NotSoldOut,
    OfferBeingTaken,
    OfferNotOpen,
)

logger = logging.getLogger("ticketshop.api")

CONTRACT_ERRORS = {
    BodyTooLarge: (413, lambda e: "InvalidRequestData"),
    InvalidRequestData: (400, lambda e: "InvalidRequestData"),
    InvalidSession: (400, lambda e: "InvalidSession"),
    TooManyTickets: (403, lambda e: "TooManyTickets"),
    OutOfTickets: (
        403,
        lambda e: {"error": "OutOfTickets", "tickets_left": e.tickets_left},
    ),
    SalesNotStarted: (403, lambda e: "SalesNotStarted"),
    EventDoesNotExist: (404, lambda e: "EventDoesNotExist"),
    TicketTypeDoesNotExist: (404, lambda e: "TicketTypeDoesNotExist"),
    Busy: (503, lambda e: "Busy"),
    IncorrectPassword: (401, lambda e: "Incorrect password"),
    TicketDoesNotExist: (
        404,
        lambda e: {"times_used": -1, "status": "Ticket does not exist"},
    ),
    TooManyAttempts: (429, lambda e: "TooManyAttempts"),
    RateLimited: (429, lambda e: "TooManyAttempts"),
    AlreadyPaidPayment: (403, lambda e: "AlreadyPaidPayment"),
    SessionExpired: (408, lambda e: "SessionExpired"),
    PaymentStartFailed: (500, lambda e: "PaymentStartFailed"),
    PaymentTokenDoesNotExist: (404, lambda e: "PaymentDoesNotExist"),
    NothingDueAtDoor: (409, lambda e: "NothingDueAtDoor"),
    OfferNotOpen: (410, lambda e: "OfferNotOpen"),
    OfferBeingTaken: (409, lambda e: "OfferBeingTaken"),
    BadSeatCount: (
        400,
        lambda e: {"error": "InvalidTicketCount", "maximum": e.maximum},
    ),
    NotSoldOut: (409, lambda e: "NotSoldOut"),
    AlreadyOnList: (409, lambda e: "AlreadyOnWaitingList"),
    MoreThanDueAtDoor: (
        409,
        lambda e: {"error": "MoreThanDueAtDoor", "due_at_door": format_money(e.due)},
    ),
    NoQueue: (404, lambda e: "NoQueue"),
    QueueNotOpen: (403, lambda e: "QueueNotOpen"),
    AlreadyInQueue: (409, lambda e: "AlreadyInQueue"),
    NotInQueue: (404, lambda e: "NotInQueue"),
    NotAdmitted: (403, lambda e: "NotAdmitted"),
    ConfirmationRequired: (403, lambda e: "ConfirmationRequired"),
    SwishNumberRequired: (400, lambda e: "SwishNumberRequired"),
}


# Answered by ticketshop.security.middleware before any view runs.
CROSS_SITE_REQUEST = "CrossSiteRequest"
SERVER_ERROR = "ServerError"


def error_schema(description: str, *errors: str, extra: dict | None = None):
    """The OpenAPI response of a status whose body is one of `errors`.

    `extra` is the schema of an object body the status may carry instead
    (OutOfTickets, the unknown ticket's body).
    """
    schema = {"type": "string", "enum": list(errors)}
    if extra is not None:
        schema = {"oneOf": [schema, extra]} if errors else extra
    return OpenApiResponse(response=schema, description=description)


OUT_OF_TICKETS_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "enum": ["OutOfTickets"]},
        "tickets_left": {"type": "integer", "minimum": 0},
    },
    "required": ["error", "tickets_left"],
}
MORE_THAN_DUE_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "enum": ["MoreThanDueAtDoor"]},
        "due_at_door": {"type": "string"},
    },
    "required": ["error", "due_at_door"],
}
UNKNOWN_TICKET_SCHEMA = {
    "type": "object",
    "properties": {
        "times_used": {"type": "integer", "enum": [-1]},
        "status": {"type": "string", "enum": ["Ticket does not exist"]},
    },
    "required": ["times_used", "status"],
}
# Responses every state-changing JSON endpoint may give.
BODY_ERRORS = {
    400: error_schema(
        "body malformed, not application/json, nested too deeply, field "
        "missing or of the wrong type",
        "InvalidRequestData",
    ),
    413: error_schema("body larger than the configured limit", "InvalidRequestData"),
}
CROSS_SITE = error_schema(
    "Origin (or Sec-Fetch-Site) names another site; nothing changed",
    CROSS_SITE_REQUEST,
)


def error_response(exc: Exception) -> Response | None:
    """Return the contract's response for a domain error, or None."""
    for cls in type(exc).__mro__:
        if cls in CONTRACT_ERRORS:
            status, body = CONTRACT_ERRORS[cls]
            response = Response(body(exc), status=status)
            if isinstance(exc, Busy | TooManyAttempts | RateLimited):
                response["Retry-After"] = str(exc.retry_after)
            return response
    return None


def exception_handler(exc, context):
    response = error_response(exc)
    if response is not None:
        return response
    if isinstance(exc, drf_exceptions.ParseError | drf_exceptions.ValidationError):
        return Response("InvalidRequestData", status=400)
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return Response("InvalidRequestData", status=400)
    if isinstance(exc, drf_exceptions.APIException):
        return Response(exc.detail, status=exc.status_code)
    view = context.get("view")
    request = context.get("request")
    if database_unavailable(exc):
        return database_busy_response(view, request)
    logger.exception(
        "server error in %s %s",
        type(view).__name__ if view else "?",
        request.path if request is not None else "?",
    )
    # Answered here so the error is logged once, with the context above.
    return Response(SERVER_ERROR, status=500)


def database_unavailable(exc: Exception) -> bool:
    """True for the database being down, restarting or not answering in time
    (a refused or dropped connection, a lock timeout): worth a retry."""
    return isinstance(exc, OperationalError | InterfaceError)


def database_busy_response(view, request) -> Response:
    """503 "Busy" with Retry-After: the database could not be reached."""
    logger.warning(
        "database unavailable in %s %s; answered Busy",
        type(view).__name__ if view else "?",
        request.path if request is not None else "?",
        exc_info=True,
    )
    response = Response("Busy", status=503)
    response["Retry-After"] = str(settings.BUSY_RETRY_AFTER_SECONDS)
    return response
