import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ticketshop.swish_simulator.background import scheduler

SHOP_CALLBACK_URL = "https://example.org/swish/callback/"


@pytest.fixture
def sim_settings(settings):
    # The simulator calls back only the shop's own callback URL.
    settings.SWISH_CALLBACK_URL = SHOP_CALLBACK_URL
    settings.SWISH_SIMULATOR_AUTOPAY_SECONDS = None
    settings.SWISH_SIMULATOR_TIMEOUT_SECONDS = 600.0
    settings.SWISH_SIMULATOR_ERROR_DELAY_SECONDS = 0.0
    settings.SWISH_SIMULATOR_REFUND_STEP_SECONDS = 0.0
    settings.SWISH_SIMULATOR_DROP_CALLBACKS = False
    settings.SWISH_SIMULATOR_DOUBLE_CALLBACKS = False
    settings.SWISH_SIMULATOR_FAIL_CREATE = ""
    settings.SWISH_SIMULATOR_FAIL_REFUND = ""
    settings.SWISH_SIMULATOR_HANG_SECONDS = 0.2
    yield settings
    scheduler.clear()
    assert scheduler.wait_idle(timeout=20)


class CallbackReceiver:
    """A merchant's callback endpoint: records what Swish posts to it."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, dict]] = []
        self.release = threading.Event()
        self.release.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                receiver.release.wait(timeout=10)
                receiver.received.append((dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/swish/callback/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    receiver = CallbackReceiver()
    # Stands in for the shop: its URL is the shop's callback URL.
    settings.SWISH_CALLBACK_URL = receiver.url
    yield receiver
    receiver.close()
