"""GET /generate_qr/<token> prefers Swish's own QR service in production and
draws the code here when that service is slow, down or answers nonsense; the
demo (simulator) never calls out."""

import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import segno
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.urls import get_resolver

from tests.factories import event_with_types, reserve_tickets
from tests.fresh_process import run_fresh
from tests.qr import decode_png
from ticketshop.orders.services import TicketLine
from ticketshop.payments.models import SwishPayment

pytestmark = pytest.mark.django_db

TOKEN = "c28a4061470f4af48973bd2a4642b4fa"


def _png(text: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


SWISH_IMAGE = _png("SWISH-SERVICE-IMAGE")


class QrService:
    """A stand-in for Swish's QR service: records requests, answers as told."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status = 200
        self.content_type = "image/png"
        self.body = SWISH_IMAGE
        self.delay = 0.0
        self.release = threading.Event()  # ends a delayed answer early
        self.answered = threading.Event()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                service.requests.append(
                    {
                        "content_type": self.headers.get("Content-Type"),
                        "body": json.loads(self.rfile.read(length)),
                    }
                )
                if service.delay:
                    service.release.wait(service.delay)
                try:
                    self.send_response(service.status)
                    self.send_header("Content-Type", service.content_type)
                    self.send_header("Content-Length", str(len(service.body)))
                    self.end_headers()
                    self.wfile.write(service.body)
                except OSError:
                    pass  # the shop gave up waiting
                service.answered.set()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = (
            f"http://127.0.0.1:{self.server.server_port}/qrg-swish/api/v1/commerce"
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def qr_service():
    service = QrService()
    yield service
    service.close()


@pytest.fixture
def payment():
    event, (standard, _) = event_with_types(prices=("150", "99"))
    order = reserve_tickets(
        session=SessionStore(),
        event_id=event.pk,
        lines=[TicketLine(ticket_type_id=standard.pk, count=1)],
    )
    return SwishPayment.objects.create(
        order=order,
        request_id="0" * 32,
        callback_identifier="1" * 32,
        amount=order.total_price,
        message="Biljetter",
        token=TOKEN,
    )


@pytest.fixture
def production(settings, qr_service):
    # Load the URLconf first: it mounts the simulator only when the setting
    # says "simulator" at import, and later tests of this process need it.
    get_resolver().url_patterns  # noqa: B018
    settings.SWISH_ENVIRONMENT = "production"
    settings.SWISH_QR_SERVICE_URL = qr_service.url
    settings.SWISH_QR_TIMEOUT_SECONDS = 0.5
    return settings


def _qr(client) -> bytes:
    response = client.get(f"/generate_qr/{TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    return response.content


def test_production_uses_swish_qr_service_image(
    client, payment, production, qr_service
):
    assert _qr(client) == SWISH_IMAGE
    (request,) = qr_service.requests
    assert request["content_type"] == "application/json"
    assert request["body"]["token"] == TOKEN
    assert request["body"]["format"] == "png"
    assert request["body"]["size"] >= 300


def test_slow_service_falls_back_to_local_drawing_before_it_answers(
    client, payment, production, qr_service
):
    qr_service.delay = 30.0  # far beyond SWISH_QR_TIMEOUT_SECONDS
    image = _qr(client)
    # The shop answered while the service was still holding its answer back.
    assert not qr_service.answered.is_set()
    assert len(qr_service.requests) == 1
    assert decode_png(image) == [f"D{TOKEN}"]


def test_service_down_falls_back_to_local_drawing(
    client, payment, production, refused_port
):
    production.SWISH_QR_SERVICE_URL = f"http://127.0.0.1:{refused_port}/commerce"
    assert decode_png(_qr(client)) == [f"D{TOKEN}"]


@pytest.mark.parametrize(
    ("status", "content_type", "body"),
    [
        (500, "text/plain", b"Internal error"),
        (400, "application/json", b'{"errorCode": "RP01"}'),
        (200, "text/html", b"<html>maintenance</html>"),
        (200, "image/png", b"not a png at all"),
    ],
)
def test_service_errors_fall_back_to_local_drawing(
    client, payment, production, qr_service, status, content_type, body
):
    qr_service.status, qr_service.content_type, qr_service.body = (
        status,
        content_type,
        body,
    )
    assert decode_png(_qr(client)) == [f"D{TOKEN}"]
    assert len(qr_service.requests) == 1


@pytest.mark.parametrize("environment", ["simulator", "mss"])
def test_demo_and_test_server_never_call_the_service(
    client, payment, settings, qr_service, environment
):
    get_resolver().url_patterns  # noqa: B018 (see the production fixture)
    settings.SWISH_ENVIRONMENT = environment
    settings.SWISH_QR_SERVICE_URL = qr_service.url
    assert decode_png(_qr(client)) == [f"D{TOKEN}"]
    assert qr_service.requests == []


@pytest.mark.parametrize(
    ("environment", "url"),
    [
        ("simulator", ""),
        ("mss", ""),
        ("production", "https://mpc.getswish.net/qrg-swish/api/v1/commerce"),
    ],
)
def test_service_url_defaults_to_swish_in_production_only(tmp_path, environment, url):
    done = run_fresh(
        "from django.conf import settings; print(settings.SWISH_QR_SERVICE_URL)",
        tmp_path,
        SWISH_ENVIRONMENT=environment,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == url
