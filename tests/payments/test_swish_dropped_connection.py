"""A kept-alive connection to Swish that the other end closes under a call.

The fault suite's many-servers test met it: the simulator's gunicorn closed
an idle connection (its keep-alive is 2 s) just as a shop server sent a
payment request on it, and the buyer got 500 "PaymentStartFailed". A server
here answers the first call on a connection, then reads the next call and
closes the connection without an answer, as such a server does. A PUT or
GET is sent once more on a new connection; a PATCH never is, nor a call
that timed out, nor a call to a server that refuses connections.
"""

import socket
import threading
import time
from decimal import Decimal

import pytest

from ticketshop.payments import swish
from ticketshop.payments.services import new_swish_id
from ticketshop.payments.swish import SwishUnavailable


class DroppingServer:
    """HTTP/1.1 on a loopback port. ``plan`` says what to do with each
    request on a connection, by its place there: "answer", "drop" (read it,
    close without answering) or "stall" (read it, answer nothing for 3 s).
    Connections past the plan's length answer everything."""

    def __init__(self, plans: list[list[str]]) -> None:
        self.plans = plans
        self.seen: list[tuple[int, str]] = []  # (connection, request line)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        number = 0
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            plan = self.plans[number] if number < len(self.plans) else []
            thread = threading.Thread(
                target=self._serve, args=(conn, number, plan), daemon=True
            )
            thread.start()
            self._threads.append(thread)
            number += 1

    def _serve(self, conn: socket.socket, number: int, plan: list[str]) -> None:
        reader = conn.makefile("rb")
        place = 0
        with conn:
            while True:
                line = reader.readline()
                if not line:
                    return
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = header.decode().partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                reader.read(length)
                self.seen.append((number, line.decode().strip()))
                action = plan[place] if place < len(plan) else "answer"
                place += 1
                if action == "drop":
                    return
                if action == "stall":
                    time.sleep(3)
                    return
                method = line.split()[0]
                status = b"201 Created" if method == b"PUT" else b"200 OK"
                body = b'{"id": "X", "status": "CREATED"}'
                conn.sendall(
                    b"HTTP/1.1 " + status + b"\r\n"
                    b"Content-Type: application/json\r\n"
                    b"PaymentRequestToken: tok\r\n"
                    b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
                )

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def server(settings):
    servers = []

    def start(*plans: list[str]) -> DroppingServer:
        made = DroppingServer(list(plans))
        servers.append(made)
        settings.SWISH_ENVIRONMENT = "simulator"
        settings.SWISH_API_URL = f"http://127.0.0.1:{made.port}/swish-cpcapi/api/"
        settings.SWISH_HTTP_TIMEOUT_SECONDS = 1.0
        swish.close_session()
        return made

    yield start
    swish.close_session()
    for made in servers:
        made.close()


def _create(request_id: str):
    return swish.create_payment_request(
        request_id=request_id,
        amount=Decimal("100.00"),
        message="Biljetter",
        reference="ORDER1",
        callback_identifier=new_swish_id(),
    )


def test_a_put_on_a_dropped_connection_goes_out_once_more_on_a_new_one(server):
    swish_server = server(["answer", "drop"])
    first, second = new_swish_id(), new_swish_id()
    assert _create(first).token == "tok"
    assert _create(second).token == "tok"  # dropped on the kept connection
    assert swish_server.seen == [
        (0, f"PUT /swish-cpcapi/api/v2/paymentrequests/{first} HTTP/1.1"),
        (0, f"PUT /swish-cpcapi/api/v2/paymentrequests/{second} HTTP/1.1"),
        (1, f"PUT /swish-cpcapi/api/v2/paymentrequests/{second} HTTP/1.1"),
    ]


def test_a_get_on_a_dropped_connection_goes_out_once_more(server):
    swish_server = server(["answer", "drop"])
    request_id = new_swish_id()
    swish.read_payment_request(request_id)
    assert swish.read_payment_request(request_id)["status"] == "CREATED"
    assert [number for number, _ in swish_server.seen] == [0, 0, 1]


def test_a_call_dropped_twice_is_unavailable(server):
    swish_server = server(["answer", "drop"], ["drop"])
    _create(new_swish_id())
    with pytest.raises(SwishUnavailable):
        _create(new_swish_id())
    assert [number for number, _ in swish_server.seen] == [0, 0, 1]


def test_a_cancel_is_never_sent_twice(server):
    swish_server = server(["answer", "drop"])
    request_id = new_swish_id()
    swish.read_payment_request(request_id)
    with pytest.raises(SwishUnavailable):
        swish.cancel_payment_request(request_id)
    assert [line.split()[0] for _, line in swish_server.seen] == ["GET", "PATCH"]


def test_a_call_that_timed_out_is_not_sent_again(server):
    swish_server = server(["stall"])
    with pytest.raises(SwishUnavailable) as unavailable:
        _create(new_swish_id())
    assert "ReadTimeout" in str(unavailable.value)
    # Sent once: a second try would have reached the server before the
    # call gave up, and the server counts every request it read.
    assert len(swish_server.seen) == 1


def test_a_refused_connection_is_not_tried_again(server, settings, refused_port):
    server([])
    settings.SWISH_API_URL = f"http://127.0.0.1:{refused_port}/swish-cpcapi/api/"
    with pytest.raises(SwishUnavailable) as unavailable:
        _create(new_swish_id())
    assert "ConnectionError" in str(unavailable.value)
