import logging

from django.conf import settings
from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ticketshop.api import StrictCharField, format_money, format_time, parse_body
from ticketshop.api_errors import (
    BODY_ERRORS,
    CROSS_SITE_REQUEST,
    SERVER_ERROR,
    error_schema,
)
from ticketshop.orders.addresses import validate_email_address
from ticketshop.orders.errors import InvalidSession
from ticketshop.orders.models import OrderStatus
from ticketshop.orders.selectors import list_order_lines
from ticketshop.orders.sessions import (
    get_session_order,
    keep_session_order,
    renew_session_order,
)
from ticketshop.security.ratelimit import limit_client
from ticketshop.statemachine.actors import ActingAs

from .errors import PaymentTokenDoesNotExist
from .poll import read_order_for_buyer
from .qr import payment_qr_png
from .reads import unreachable_since
from .selectors import get_payment_by_token
from .settle import CALLBACK_QUEUED, handle_callback
from .start import start_payment

logger = logging.getLogger(__name__)


class StartPaymentView(ActingAs, APIView):
    actor = "buyer"
    """Start a Swish payment for the session's reservation; answer its token."""

    @extend_schema_serializer(component_name="StartPaymentRequest")
    class InputSerializer(serializers.Serializer):
        # The one address check (orders.addresses) on top of DRF's syntax
        # check: no local hosts, IP literals or invisible characters.
        email_address = serializers.EmailField(
            max_length=254, validators=[validate_email_address]
        )

        def to_internal_value(self, data):
            # A JSON string only (EmailField would accept a number's str()).
            StrictCharField().to_internal_value(data.get("email_address"))
            return super().to_internal_value(data)

    @extend_schema(
        operation_id="start_payment",
        request=InputSerializer,
        responses={
            200: OpenApiResponse(
                response={"type": "string"},
                description="the PaymentRequestToken (the same again while the "
                'payment runs; the first e-mail address stays); "" for 0 kr',
            ),
            400: error_schema(
                "body malformed or not a valid e-mail address "
                "(InvalidRequestData), or no reservation in the session",
                "InvalidRequestData",
                "InvalidSession",
            ),
            413: BODY_ERRORS[413],
            403: error_schema(
                "already paid, reserved through a queue entry whose e-mail "
                "address is not confirmed yet, or a cross-site request",
                "AlreadyPaidPayment",
                "ConfirmationRequired",
                CROSS_SITE_REQUEST,
            ),
            408: error_schema(
                "the reservation expired and its seats are taken, its hold "
                "was renewed as often or as long as allowed, or (a queued "
                "event) its hold lapsed before the address was confirmed",
                "SessionExpired",
            ),
            429: error_schema(
                "the hold needed renewing and this address has made more "
                "reservations than RESERVATION_RATE_LIMIT allows; Retry-After "
                "says when to try again",
                "TooManyAttempts",
            ),
            503: error_schema(
                "too many payment starts in flight; Retry-After says when", "Busy"
            ),
            500: error_schema(
                "Swish refused or could not be reached (logged), or a server error",
                "PaymentStartFailed",
                SERVER_ERROR,
            ),
        },
    )
    def post(self, request):
        body = parse_body(self.InputSerializer, request)
        token = start_payment(
            order=get_session_order(request.session),
            email=body["email_address"],
            keep=lambda order: keep_session_order(request.session, order),
            renewed=lambda order: renew_session_order(request.session, order),
            # A renewed hold is a new reservation of the same seats.
            count_renewal=lambda: limit_client(
                request, scope="reserve", rate=settings.RESERVATION_RATE_LIMIT
            ),
        )
        return Response(token)


SESSION_PAYMENT_STATUS = inline_serializer(
    "SessionPaymentStatus",
    {
        "status": serializers.ChoiceField(choices=OrderStatus.choices),
        "mail": serializers.CharField(allow_null=True),
        "reference": serializers.CharField(allow_null=True),
        "chapter_event": serializers.IntegerField(),
        "expires_at": serializers.DateTimeField(),
        "total_price": serializers.CharField(),
        "tickets": inline_serializer(
            "OrderLine",
            {
                "ticket_type": serializers.IntegerField(),
                "count": serializers.IntegerField(),
            },
            many=True,
        ),
        "payment_pending": serializers.BooleanField(),
        "payment_status": serializers.CharField(allow_null=True),
        "payment_error": serializers.CharField(allow_null=True),
        "refund_state": serializers.CharField(allow_null=True),
        "external_ids": serializers.ListField(
            child=serializers.CharField(), required=False
        ),
    },
)


class SessionPaymentStatusView(ActingAs, APIView):
    actor = "buyer"
    """The state of the session's order, for the buyer's page to poll.

    Read from the database only: the task workers follow the payment at
    Swish (a callback queues a read; open requests are read on a schedule),
    so a lost callback never leaves the buyer waiting and no poll waits on
    Swish.
    """

    @extend_schema(
        operation_id="session_payment_status",
        responses={
            200: SESSION_PAYMENT_STATUS,
            400: error_schema("no reservation in the session", "InvalidSession"),
        },
    )
    def get(self, request):
        order = get_session_order(request.session)
        if order is None:
            raise InvalidSession()
        seen = read_order_for_buyer(order=order)
        order, status, payment = seen.order, seen.status, seen.payment
        body = {
            "status": status,
            "mail": order.email or None,
            "reference": order.payment_reference or None,
            "chapter_event": order.event_id,
            "expires_at": format_time(order.expires_at),
            "total_price": format_money(order.total_price),
            "tickets": list_order_lines(order=order),
            "payment_pending": order.payment_pending,
            # The Swish request's own state and error code (TM01, DECLINED…),
            # so the page can say why a payment failed.
            "payment_status": payment.status if payment else None,
            "payment_error": (payment.error_code or None) if payment else None,
            # Money on its way back (PENDING, REFUNDED, FAILED), so the page
            # can say what happens to a payment the order did not take.
            "refund_state": order.refund_state or None,
        }
        if status == OrderStatus.PAID:
            body["external_ids"] = list(
                order.tickets.filter(cancelled_at__isnull=True)
                .order_by("id")
                .values_list("external_id", flat=True)
            )
        return Response(body)


class GenerateQrView(APIView):
    """A PNG QR code of a payment request token, for the Swish app to scan."""

    @extend_schema(
        operation_id="generate_qr",
        responses={
            (200, "image/png"): OpenApiResponse(description="the QR code, a PNG"),
            404: error_schema("no payment with this token", "PaymentDoesNotExist"),
        },
    )
    def get(self, request, token: str):
        if get_payment_by_token(token=token) is None:
            raise PaymentTokenDoesNotExist()
        # Swish's own QR service in production, drawn here as the fallback.
        response = HttpResponse(payment_qr_png(token), content_type="image/png")
        response["Cache-Control"] = "private, max-age=600"
        return response


@method_decorator(csrf_exempt, name="dispatch")
class SwishCallbackView(ActingAs, View):
    actor = "swish-callback"
    """Swish's callback: names a payment request; a task worker reads its
    state from Swish (the callback only queues that read; see reads.py).

    200 once the read is queued; an unknown or malformed callback is logged
    and answered 200 too, so Swish never retries it forever. 503 with
    Retry-After, so that Swish sends it again, when the shop cannot take it
    (the database failed) or cannot read Swish now (the workers' reads of
    Swish are failing: "Swish unreachable since"); the read stays queued
    when it could be.
    """

    def post(self, request):
        try:
            body = request.body
        except Exception as exc:  # larger than any callback, or cut off
            logger.warning("Swish callback unreadable: %s", type(exc).__name__)
            return HttpResponse(status=200)
        try:
            outcome = handle_callback(
                body=body,
                callback_identifier=request.headers.get("callbackIdentifier"),
            )
        except Exception:
            logger.exception("Swish callback not taken; Swish will send it again")
            return _callback_retry_later()
        if outcome == CALLBACK_QUEUED:
            try:
                since = unreachable_since()
            except Exception:
                logger.exception("Swish callback: the cache failed")
                return _callback_retry_later()
            if since is not None:
                logger.warning(
                    "Swish callback answered 503: reads of Swish failing since %s",
                    since.isoformat(),
                )
                return _callback_retry_later()
        return HttpResponse(status=200)


def _callback_retry_later() -> HttpResponse:
    response = HttpResponse(status=503)
    response["Retry-After"] = str(settings.BUSY_RETRY_AFTER_SECONDS)
    return response
