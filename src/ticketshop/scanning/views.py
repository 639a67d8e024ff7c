import time
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from ticketshop.api import (
    StrictBooleanField,
    StrictCharField,
    format_money,
    format_time,
    parse_body,
    validate_items,
)
from ticketshop.api_errors import (
    BODY_ERRORS,
    CROSS_SITE,
    MORE_THAN_DUE_SCHEMA,
    SERVER_ERROR,
    UNKNOWN_TICKET_SCHEMA,
    error_schema,
)
from ticketshop.backoffice.services import collect_at_door
from ticketshop.orders.models import Order
from ticketshop.orders.signing import (
    BadTicketSignature,
    looks_signed,
    public_key_text,
    verify_payload,
)
from ticketshop.security.clients import client_address, ip_or_none
from ticketshop.statemachine.machine import acting_as

from .credentials import authenticate_scanner, recognise_scanner
from .door_money import door_money_messages, due_of_scanned, orders_due
from .errors import TicketDoesNotExist
from .offline import UNKNOWN, OfflineScan, get_door_list, sync_offline_scans
from .revocation import CANCELLED, EXCHANGED, REFUNDED, Night, Revocation
from .selectors import get_ticket_for_scan
from .services import validate_ticket
from .throttle import refund_attempt, reserve_attempt

# The answers of the scanner page's own endpoints besides their 200.
SCANNER_ERRORS = {
    **BODY_ERRORS,
    401: error_schema("wrong scanner password", "Incorrect password"),
    403: CROSS_SITE,
    429: error_schema(
        "too many wrong passwords from this address; Retry-After says when to "
        "try again",
        "TooManyAttempts",
    ),
    500: error_schema("server error (logged)", SERVER_ERROR),
}


def ticket_id_of(scanned: str) -> str:
    """Return the ticket id a scanned text stands for.

    A signed payload (what the tickets' QR codes hold) gives the id inside
    it when its signature is the shop's; a forged or altered one gives the
    text itself, which matches no ticket, so that it is logged and answered
    as an unknown ticket. Anything else is a bare id, as typed or read from
    an old ticket.
    """
    if not looks_signed(scanned):
        return scanned
    try:
        return verify_payload(scanned).external_id
    except BadTicketSignature:
        return scanned.strip()


def _authenticate(request, password: str):
    """Return the scanner of this password, under the throttle.

    A password known to be right (verified before on any process, or the
    environment's) is no guess: it passes even while the address is
    throttled, so that one guesser on the venue's shared address does not
    lock out the doors. Any other is counted before the slow check and
    refunded after a right password, so that a burst of guesses cannot all
    pass a count read before any was recorded.
    """
    client = client_address(request)
    scanner = recognise_scanner(password=password)
    if scanner is not None:
        return scanner
    attempt = reserve_attempt(client=client, now=time.time())
    scanner = authenticate_scanner(password=password)
    refund_attempt(attempt)
    return scanner


class ScannerLoginView(APIView):
    """Check a scanner password without scanning anything (nothing is logged).

    The scanner page calls this when door staff log in; the answer names the
    account, so that the page can show who is scanning.
    """

    class ScannerLoginInputSerializer(serializers.Serializer):
        password = StrictCharField(allow_blank=True, trim_whitespace=False)

    @extend_schema(
        request=ScannerLoginInputSerializer,
        responses={
            200: inline_serializer(
                "ScannerLogin", {"scanner": serializers.CharField()}
            ),
            **SCANNER_ERRORS,
        },
    )
    def post(self, request):
        body = parse_body(self.ScannerLoginInputSerializer, request)
        scanner = _authenticate(request, body["password"])
        return Response({"scanner": scanner.name})


class ValidateTicketView(APIView):
    """Check a ticket at the door and, with use_ticket, record one use."""

    @extend_schema_serializer(component_name="ValidateTicketRequest")
    class InputSerializer(serializers.Serializer):
        external_id = StrictCharField(allow_blank=True, trim_whitespace=False)
        password = StrictCharField(allow_blank=True, trim_whitespace=False)
        use_ticket = StrictBooleanField()

    @extend_schema(
        operation_id="validate_ticket",
        request=InputSerializer,
        responses={
            200: inline_serializer(
                "ValidateTicket",
                {
                    "external_id": serializers.CharField(),
                    "times_used": serializers.IntegerField(min_value=0),
                    # The event's title, as the original scanner shows it.
                    "chapter_event": serializers.CharField(),
                    "status": serializers.CharField(),
                    "admitted": serializers.BooleanField(),
                    "ticket_type_title": serializers.CharField(),
                    "event_at": serializers.DateTimeField(),
                    "chapter_event_en": serializers.CharField(),
                    "ticket_type_title_en": serializers.CharField(),
                    "revoked_reason": serializers.ChoiceField(
                        choices=[REFUNDED, EXCHANGED, CANCELLED], allow_null=True
                    ),
                    "exchanged_to": inline_serializer(
                        "ExchangedTo",
                        {
                            "title": serializers.CharField(),
                            "title_en": serializers.CharField(),
                            "event_at": serializers.DateTimeField(),
                        },
                        allow_null=True,
                    ),
                },
            ),
            **BODY_ERRORS,
            401: error_schema("wrong scanner password", "Incorrect password"),
            403: CROSS_SITE,
            404: error_schema(
                "unknown external id (or a QR payload with a bad signature)",
                extra=UNKNOWN_TICKET_SCHEMA,
            ),
            429: error_schema(
                "too many wrong passwords from this address; Retry-After says "
                "when to try again",
                "TooManyAttempts",
            ),
            500: error_schema("server error (logged)", SERVER_ERROR),
        },
    )
    def put(self, request):
        body = parse_body(self.InputSerializer, request)
        client = client_address(request)
        scanner = _authenticate(request, body["password"])
        outcome = validate_ticket(
            scanner=scanner,
            external_id=ticket_id_of(body["external_id"]),
            use_ticket=body["use_ticket"],
            client_address=ip_or_none(client),
            now=timezone.now(),
            first_use_only=body.get("first_use_only", False),
        )
        ticket = outcome.ticket
        return Response(
            {
                "external_id": ticket.external_id,
                "times_used": outcome.times_used,
                "chapter_event": ticket.event_title,
                "status": outcome.status,
                "admitted": outcome.admitted,
                "ticket_type_title": ticket.ticket_type_title,
                "event_at": format_time(ticket.event_at),
                "chapter_event_en": ticket.event_title_en,
                "ticket_type_title_en": ticket.ticket_type_title_en,
                **revocation_fields(outcome.revocation),
                **_due_fields(outcome),
            }
        )


def _due_fields(outcome) -> dict:
    """What the ticket's order owes at the door (door_money), for a paid
    order's ticket; nothing owed for any other answer."""
    if outcome.status != "PAID":
        return {"order_reference": "", "due_at_door": "0", "first_of_order": False}
    return due_of_scanned(outcome.ticket, times_used=outcome.times_used).as_fields()


class CollectAtDoorView(APIView):
    """Record money an order owed at the door as paid there (scanner accounts)."""

    class CollectInputSerializer(serializers.Serializer):
        password = StrictCharField(allow_blank=True, trim_whitespace=False)
        external_id = StrictCharField(allow_blank=True, trim_whitespace=False)
        amount = serializers.DecimalField(
            max_digits=12, decimal_places=2, min_value=Decimal("0.01")
        )
        method = serializers.ChoiceField(choices=["CASH", "SWISH"])
        key = StrictCharField(min_length=8, max_length=64)

    @extend_schema(
        operation_id="scan_collect_at_door",
        request=CollectInputSerializer,
        responses={
            200: inline_serializer(
                "CollectAtDoor",
                {
                    "order_reference": serializers.CharField(),
                    "amount": serializers.CharField(),
                    "method": serializers.CharField(),
                    "due_at_door": serializers.CharField(),
                },
            ),
            **SCANNER_ERRORS,
            404: error_schema(
                "unknown ticket, or one of an event this scanner may not scan",
                extra=UNKNOWN_TICKET_SCHEMA,
            ),
            409: error_schema(
                "nothing is due at the door, or less than the amount",
                "NothingDueAtDoor",
                extra=MORE_THAN_DUE_SCHEMA,
            ),
        },
    )
    def post(self, request):
        body = parse_body(self.CollectInputSerializer, request)
        scanner = _authenticate(request, body["password"])
        ticket = get_ticket_for_scan(external_id=ticket_id_of(body["external_id"]))
        if ticket is None or not scanner.may_scan(ticket.event_id):
            raise TicketDoesNotExist()
        # The door's history rows name the scanner account that collected.
        with acting_as(f"staff:{scanner.name}"):
            payment = collect_at_door(
                order_id=ticket.order_id,
                amount=body["amount"],
                method=body["method"],
                key=f"scan:{body['key']}",
                recorded_by=scanner.name,
            )
        due = Order.objects.values_list("due_at_door", flat=True).get(
            pk=ticket.order_id
        )
        return Response(
            {
                "order_reference": payment.order.reference,
                "amount": format_money(payment.amount),
                "method": payment.method,
                "due_at_door": format_money(due),
            }
        )


class ScannerCheckView(ValidateTicketView):
    """The scanner page's own check: validate_ticket's body and answer,
    except that an unknown ticket answers 200 with ``"unknown": true``, and
    the body may add ``first_use_only``.

    The page shows it red either way; a 404 would also print an error in the
    browser's console at every mistyped id. Hand-held scanners and other
    clients keep using validate_ticket.
    """

    @extend_schema_serializer(component_name="ScanCheckRequest")
    class InputSerializer(ValidateTicketView.InputSerializer):
        # Add the use only to a ticket not used yet (auto-admit): a used one
        # is answered unused, for door staff to decide.
        first_use_only = StrictBooleanField(required=False, default=False)

    @extend_schema(
        operation_id="scan_check",
        request=InputSerializer,
        responses={
            200: OpenApiResponse(
                response={"type": "object"},
                description="validate_ticket's answer; for an unknown ticket "
                '{"times_used": -1, "status": "Ticket does not exist", '
                '"unknown": true}',
            ),
            **SCANNER_ERRORS,
        },
    )
    def put(self, request):
        try:
            return super().put(request)
        except TicketDoesNotExist:
            return Response({"times_used": -1, "status": UNKNOWN, "unknown": True})


def night_fields(night: Night | None) -> dict | None:
    if night is None:
        return None
    return {
        "title": night.title,
        "title_en": night.title_en,
        "event_at": format_time(night.event_at),
    }


def revocation_fields(revocation: Revocation | None) -> dict:
    """The answer's words for a refused ticket: why, and where it went."""
    return {
        "revoked_reason": revocation.reason if revocation else None,
        "exchanged_to": night_fields(revocation.moved_to if revocation else None),
    }


# The QR library fetched by `make setup` when npm is present (see the
# Makefile); never committed. Each name the page may load -> its file.
VENDOR_DIR = Path(settings.BASE_DIR) / "vendor" / "node_modules"
QR_LIBRARY_FILES = {
    "barcode-detector.js": VENDOR_DIR / "barcode-detector/dist/iife/ponyfill.js",
    "zxing_reader.wasm": VENDOR_DIR / "zxing-wasm/dist/reader/zxing_reader.wasm",
}


def qr_library_available() -> bool:
    return all(path.is_file() for path in QR_LIBRARY_FILES.values())


@require_GET
def scan_page(request):
    """The door staff's page: password once, then camera, typed ids or a scanner."""
    return render(
        request,
        "scanning/scan.html",
        {
            "qr_library": qr_library_available(),
            "messages_json": _page_messages(),
            # Event times are shown as the shop's clock reads them, whatever
            # the zone the door's phone is set to.
            "time_zone": settings.TIME_ZONE,
        },
    )


def _page_messages() -> dict[str, str]:
    """Texts the page's script shows, translated on the server."""
    return {
        "ok": _("OK, first use"),
        "valid": _("Valid, not yet used"),
        "admitted": _("Admitted"),
        "used": _("Already used %(n)s times"),
        "used_once": _("Already used once"),
        "not_paid": _("Not paid"),
        "wrong_event": _("Wrong event"),
        "unknown": _("Unknown ticket"),
        "wrong_password": _("Wrong password"),
        "too_many": _("Too many wrong passwords; wait a minute"),
        "invalid": _("Could not read that id"),
        "network": _("No answer from the server; try again"),
        "camera_native": _("Camera: point it at a ticket's QR code."),
        "camera_library": _(
            "Camera: point it at a ticket's QR code (QR reading by the "
            "barcode-detector library)."
        ),
        "no_camera_reader": _(
            "This browser cannot read QR codes with the camera, and the QR "
            "library is not installed on this server (`make setup` installs it "
            "when npm is present). Type ids, or use a hand-held scanner that "
            "types the id and Enter."
        ),
        "no_camera": _(
            "No camera available here. Type ids, or use a hand-held scanner "
            "that types the id and Enter."
        ),
        "camera_denied": _("The camera was not allowed: %(error)s"),
        "start_camera": _("Start camera"),
        "stop_camera": _("Stop camera"),
        "keyboard": _("Typed ids and hand-held scanners (id and Enter) work."),
        "forged": _("Not a genuine ticket"),
        "no_list": _("No ticket list on this device yet"),
        "not_in_list": _("genuine, sold after the list was downloaded"),
        "online": _("Online"),
        "offline_now": _("Offline"),
        "list_from": _("ticket list from %(time)s (%(ago)s)"),
        "minutes_ago": _("%(n)s min ago"),
        "waiting": _plural(
            "%(n)s scan waiting to be sent", "%(n)s scans waiting to be sent"
        ),
        "conflict_used": _plural(
            "%(id)s: let in here while offline, but already used elsewhere "
            "(%(n)s use before)",
            "%(id)s: let in here while offline, but already used elsewhere "
            "(%(n)s uses before)",
        ),
        "conflict_refused": _(
            "%(id)s: let in here while offline, but the server refuses it: %(why)s"
        ),
        # Why a ticket no longer opens the door, as a volunteer says it.
        "refunded": _("Refunded ticket"),
        "cancelled": _("Cancelled ticket"),
        "exchanged": _("Exchanged to another night: %(night)s"),
        "exchanged_ticket": _("Exchanged for a new ticket"),
        "server_failing": _("The server is not answering properly."),
        # Banners: the page has fallen back to offline scanning.
        "offline_password": _(
            "The server no longer accepts this password: scanning offline with "
            "the ticket list on this device. Ask the door manager for the new "
            "password."
        ),
        "offline_throttled": _(
            "The server refuses logins for a while (too many wrong passwords "
            "here): scanning offline with the ticket list on this device."
        ),
        "offline_server": _(
            "The server is not answering properly: scanning offline with the "
            "ticket list on this device."
        ),
        "offline_unreachable": _(
            "The server cannot be reached: scanning offline with the ticket "
            "list on this device."
        ),
        "offline_no_list": _(
            "This device has no ticket list yet, so it cannot check tickets "
            "offline: try again in a minute, or use a device that has "
            "downloaded the list."
        ),
        **door_money_messages(),
    }


def _plural(singular: str, plural: str) -> list[str]:
    """[the text for 1, the text for any other number]: enough for Swedish
    and English, the page's two languages."""
    return [ngettext(singular, plural, 1), ngettext(singular, plural, 2)]


@require_GET
def qr_library_file(request, name: str):
    path = QR_LIBRARY_FILES.get(name)
    if path is None or not path.is_file():
        raise Http404("QR library not installed (run `make setup` with npm present)")
    content_type = "application/wasm" if name.endswith(".wasm") else "text/javascript"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=86400"
    return response


class DoorListView(APIView):
    """What the scanner page keeps for offline use (POST: the password is sent)."""

    class DoorListInputSerializer(serializers.Serializer):
        password = StrictCharField(allow_blank=True, trim_whitespace=False)

    @extend_schema(
        request=DoorListInputSerializer,
        responses={
            200: OpenApiResponse(
                response={"type": "object"},
                description="events, their tickets with order state and uses, "
                "revoked ids and the public key",
            ),
            **SCANNER_ERRORS,
        },
    )
    def post(self, request):
        body = parse_body(self.DoorListInputSerializer, request)
        scanner = _authenticate(request, body["password"])
        door = get_door_list(scanner=scanner, now=timezone.now())
        # Money due at the door, once per order (door_money).
        door["orders_due"] = orders_due(event_ids=[e["id"] for e in door["events"]])
        door["generated_at"] = format_time(door["generated_at"])
        for event in door["events"]:
            event["event_at"] = format_time(event["event_at"])
        for state in door["ticket_states"].values():
            if "moved_to" in state:
                night = state["moved_to"]
                night["event_at"] = format_time(night["event_at"])
        response = Response(door)
        response["Cache-Control"] = "no-store"
        return response


class SyncOfflineScansView(APIView):
    """Apply the scans a scanner page made offline, in order, each once."""

    MAX_SCANS = 500

    class OfflineScanSerializer(serializers.Serializer):
        key = StrictCharField(min_length=8, max_length=64)
        external_id = StrictCharField(max_length=512)
        use_ticket = StrictBooleanField()
        scanned_at = serializers.DateTimeField()
        shown = serializers.ChoiceField(choices=["green", "amber", "red"])
        times_used_seen = serializers.IntegerField(min_value=0)

    class SyncInputSerializer(serializers.Serializer):
        password = StrictCharField(allow_blank=True, trim_whitespace=False)
        scans = serializers.ListField(allow_empty=True, max_length=500)

        def validate_scans(self, value):
            return validate_items(
                SyncOfflineScansView.OfflineScanSerializer, value, "bad scan"
            )

    @extend_schema(
        request=SyncInputSerializer,
        responses={
            200: OpenApiResponse(
                response={"type": "object"},
                description="each scan's result, in the order sent",
            ),
            **SCANNER_ERRORS,
        },
    )
    def post(self, request):
        body = parse_body(self.SyncInputSerializer, request)
        scanner = _authenticate(request, body["password"])
        scans = [
            OfflineScan(
                key=scan["key"],
                external_id=ticket_id_of(scan["external_id"]),
                use_ticket=scan["use_ticket"],
                scanned_at=scan["scanned_at"],
                shown=scan["shown"],
                times_used_seen=scan["times_used_seen"],
            )
            for scan in body["scans"]
        ]
        synced = sync_offline_scans(
            scanner=scanner,
            scans=scans,
            client_address=ip_or_none(client_address(request)),
        )
        return Response(
            {
                "results": [
                    {
                        "key": s.key,
                        "external_id": s.external_id,
                        "status": s.status,
                        "times_used": s.times_used,
                        "admitted": s.admitted,
                        "conflict": s.conflict,
                        "duplicate": s.duplicate,
                        **revocation_fields(s.revocation),
                    }
                    for s in synced
                ]
            }
        )


@require_GET
def public_key(request):
    """The public key that verifies the tickets' signed payloads (base64url)."""
    response = JsonResponse({"algorithm": "Ed25519", "public_key": public_key_text()})
    response["Cache-Control"] = "public, max-age=300"
    return response


SERVICE_WORKER = Path(__file__).resolve().parent / "static" / "scanning" / "sw.js"


@require_GET
def service_worker(request):
    """The scanner page's service worker, served under /scan/ for its scope."""
    response = FileResponse(SERVICE_WORKER.open("rb"), content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response
