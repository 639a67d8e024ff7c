import time
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
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
    format_time,
    parse_body,
    validate_items,
)
from ticketshop.api_errors import (
    BODY_ERRORS,
    CROSS_SITE,
    SERVER_ERROR,
    UNKNOWN_TICKET_SCHEMA,
    error_schema,
)
from ticketshop.security.clients import client_address, ip_or_none

from .credentials import authenticate_scanner, recognise_scanner
from .offline import OfflineScan, get_door_list, sync_offline_scans
from .services import validate_ticket
from .signing import BadTicketSignature, looks_signed, public_key_text, verify_payload
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
            }
        )


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
        "waiting": _("%(n)s scans waiting to be sent"),
        "conflict_used": _(
            "%(id)s: let in here while offline, but already used elsewhere "
            "(%(n)s uses before)"
        ),
        "conflict_refused": _(
            "%(id)s: let in here while offline, but the server refuses it (%(status)s)"
        ),
    }


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
        door["generated_at"] = format_time(door["generated_at"])
        for event in door["events"]:
            event["event_at"] = format_time(event["event_at"])
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
