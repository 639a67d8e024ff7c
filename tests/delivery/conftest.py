"""Paid orders, an in-process task worker and a real SMTP server for the tests."""

import email
import io
import socket
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.db import transaction
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker

from tests.factories import event_with_types, reserve_tickets
from ticketshop.delivery.services import schedule_ticket_delivery
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.orders.services import TicketLine

# This helper's port range; SMTP servers of the tests listen here.
PORTS = range(8400, 8500)


def mark_paid(order: Order, *, email: str = "kund@example.org") -> Order:
    """Mark the order PAID the way the payments app does, scheduling delivery."""
    with transaction.atomic(durable=True):
        Order.objects.filter(pk=order.pk).update(
            status=OrderStatus.PAID,
            payment_pending=False,
            paid_at=timezone.now(),
            email=email,
            payment_reference="0123456789ABCDEF0123456789ABCDEF",
        )
        order.refresh_from_db()
        schedule_ticket_delivery(order=order)
    return order


def reserve(*, counts=(2, 1), **event_kwargs) -> Order:
    """Reserve tickets of an event with two ticket types (199 and 99 kr)."""
    event, types = event_with_types(
        prices=("199", "99"), title="Fysikalen 2026", **event_kwargs
    )
    lines = [
        TicketLine(ticket_type_id=t.pk, count=n)
        for t, n in zip(types, counts, strict=True)
        if n
    ]
    return reserve_tickets(session=SessionStore(), event_id=event.pk, lines=lines)


def run_worker(*, max_tasks: int | None = None) -> None:
    """Run `manage.py run_worker --batch` in this process: every Swish read
    due now, then every task due now."""
    from ticketshop.payments.reads import read_due

    read_due()
    Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id="test-worker",
        excluded_queue_names=[],
    ).run()


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps what it receives."""

    messages: list[tuple[str, list[str], EmailMessage]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def reserve_port() -> socket.socket:
    """Bind (not listen on) a port of this helper's range, and keep it.

    While bound, no other test process can take the port, and connecting to
    it is refused: exactly an SMTP server that is down.
    """
    for port in PORTS:
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            sock.close()
            continue
        return sock
    raise RuntimeError("no free port in 8400-8499")


class _BoundController(Controller):
    """An aiosmtpd controller that serves on an already bound socket."""

    def __init__(self, handler, sock: socket.socket):
        self.sock = sock
        super().__init__(handler, hostname="127.0.0.1", port=sock.getsockname()[1])

    def _create_server(self):
        return self.loop.create_server(
            self._factory_invoker, sock=self.sock, ssl=self.ssl_context
        )


class SmtpServer:
    """A real SMTP server on 127.0.0.1, down until started."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self, handler=None) -> None:
        """Listen; ``handler`` wraps the inbox to change how the server answers."""
        self.controller = _BoundController(handler or self.inbox, self.sock)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
        self.sock.close()


@pytest.fixture
def stopped_smtp_server(settings):
    """An SMTP server that the shop's mail goes to, not yet listening."""
    server = SmtpServer(reserve_port())
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.stop()


@pytest.fixture
def smtp_server(stopped_smtp_server):
    """A running SMTP server that the shop's mail goes to."""
    stopped_smtp_server.start()
    return stopped_smtp_server


def png_parts(message: EmailMessage, *, disposition: str) -> list:
    return [
        part
        for part in message.walk()
        if part.get_content_type() == "image/png"
        and part.get_content_disposition() == disposition
    ]


def decode_qr(png: bytes) -> list[str]:
    """Return the ticket ids of every QR code in a PNG (zxing-cpp).

    Each code must hold a payload signed with the shop's key: a bare id, or
    a bad signature, fails the test.
    """
    from tests.qr import decode_png
    from ticketshop.orders.signing import verify_payload

    return [verify_payload(text).external_id for text in decode_png(png)]


def pdf_page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)
