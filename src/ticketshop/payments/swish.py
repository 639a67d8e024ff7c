"""The Swish client: the commerce API called directly with `requests`, with
errors sorted into "refused" (Swish answered no) and "unavailable" (outcome
unknown).

Paths, as Swish's current API reference gives them (developer.swish.nu,
"Payment request v2" and "Refunds v2"; see docs/swish.md):

- create a payment request: ``PUT  v2/paymentrequests/<id>``
- retrieve it:              ``GET  v1/paymentrequests/<id>``
- cancel it:                ``PATCH v1/paymentrequests/<id>`` (JSON patch)
- create a refund:          ``PUT  v2/refunds/<id>``
- retrieve it:              ``GET  v1/refunds/<id>``

What Swish decommissioned on 2026-01-01 are the v1 *creates* (``POST
v1/paymentrequests``, ``POST v1/refunds``); retrieve and cancel exist only
under v1 and are what the v2 reference itself lists.

Every call goes through one kept-alive ``requests.Session`` per process
(its connection pool is thread-safe; cookies are never kept), with the
client certificate and CA bundle from settings, a short connect timeout and
the read timeout. At most ``max_in_flight()`` calls run at once in a
process (one fewer than the app server's threads, GUNICORN_THREADS, at least
one; SWISH_MAX_IN_FLIGHT may cap it lower); beyond that a call waits a
moment for a slot while Swish keeps pace (``_Slots``) and otherwise raises
SwishBusy at once instead of tying up one more request thread (start_payment
answers ``503 "Busy"``), so a slow Swish always leaves a thread free.
"""

import logging
import os
import threading
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

# The characters Swish documents for ``message`` (docs/swish.md, "The
# message"): the letters a-ö and A-Ö (the Swedish alphabet), the digits and
# :;.,?!() with, for payment requests, - and the quotation mark ” (U+201D;
# MSS's guide shows the ASCII " instead, which production may refuse, so
# the shop sends ”). Space is not listed but Swish's own examples use it.
MESSAGE_LETTERS = "abcdefghijklmnopqrstuvwxyzåäö"
MESSAGE_PUNCTUATION = ":;.,?!()"
MESSAGE_QUOTE = "\u201d"  # ”
PAYMENT_MESSAGE_CHARS = frozenset(
    MESSAGE_LETTERS
    + MESSAGE_LETTERS.upper()
    + "0123456789 "
    + MESSAGE_PUNCTUATION
    + "-"
    + MESSAGE_QUOTE
)
# Refunds: the same without the hyphen (Swish's refund documentation).
REFUND_MESSAGE_CHARS = PAYMENT_MESSAGE_CHARS - {"-"}
MESSAGE_MAX_LENGTH = 50
# Characters Swish does not list, mapped to one it does (or to nothing).
_MESSAGE_MAP = {
    **dict.fromkeys('"\u201c\u201e\u00ab\u00bb\u2033\u201f', MESSAGE_QUOTE),
    **dict.fromkeys("'\u2018\u2019\u201a\u201b\u00b4`\u2032", ""),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212_", "-"),
    "\u2026": "...",
    "[": "(",
    "]": ")",
    "{": "(",
    "}": ")",
    "æ": "ä",
    "Æ": "Ä",
    "ø": "ö",
    "Ø": "Ö",
    "ß": "ss",
}

MSS_BASE_URL = "https://mss.cpc.getswish.net/swish-cpcapi/api/"
PRODUCTION_BASE_URL = "https://cpc.getswish.net/swish-cpcapi/api/"

# The paths of each call, relative to the API base (…/swish-cpcapi/api/).
PATHS = {
    "create_payment_request": ("PUT", "v2/paymentrequests/{id}"),
    "read_payment_request": ("GET", "v1/paymentrequests/{id}"),
    "cancel_payment_request": ("PATCH", "v1/paymentrequests/{id}"),
    "create_refund": ("PUT", "v2/refunds/{id}"),
    "read_refund": ("GET", "v1/refunds/{id}"),
}


class SwishUnavailable(Exception):
    """Swish could not be reached or failed (5xx): the outcome is unknown."""


class SwishBusy(SwishUnavailable):
    """This process already has max_in_flight() calls to Swish running:
    nothing was sent. Try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many Swish calls in flight; retry after {retry_after}s")
        self.retry_after = retry_after


class SwishRefused(Exception):
    """Swish answered with a 4xx: nothing was done."""

    def __init__(self, status: int, codes: list[str], detail: str = "") -> None:
        super().__init__(f"HTTP {status} {','.join(codes)} {detail}".strip())
        self.status = status
        self.codes = codes


@dataclass(frozen=True)
class Created:
    token: str | None
    location: str | None


def sanitise_message(text: str, *, refund: bool = False) -> str:
    """Return text in the characters Swish documents for ``message``, at
    most 50 of them: ” for quotation marks, accents dropped (é -> e) except
    on å, ä and ö, a hyphen for dashes (a space in a refund's message),
    apostrophes dropped ("Kalle's" -> "Kalles"), a space for anything else,
    runs of spaces made one."""
    allowed = REFUND_MESSAGE_CHARS if refund else PAYMENT_MESSAGE_CHARS
    kept = []
    for char in text:
        if char in allowed:
            mapped = char
        elif char in _MESSAGE_MAP:
            mapped = _MESSAGE_MAP[char]
        else:
            # é -> e, ü -> u, ﬁ -> fi: the letters without the accents;
            # nothing left (an emoji, a symbol): a space.
            mapped = (
                "".join(
                    c
                    for c in unicodedata.normalize("NFKD", char)
                    if c in allowed and not unicodedata.combining(c)
                )
                or " "
            )
        kept.append("".join(c if c in allowed else " " for c in mapped))
    return " ".join("".join(kept).split())[:MESSAGE_MAX_LENGTH].strip()


def format_amount(amount: Decimal) -> str:
    """Swish wants a string with two decimals."""
    return f"{amount:.2f}"


def callback_url() -> str:
    return settings.SWISH_CALLBACK_URL or f"{settings.PUBLIC_BASE_URL}/swish/callback/"


# --- where and how: base URL, certificates ----------------------------------


def base_url() -> str:
    """The API base (…/swish-cpcapi/api/) of the configured environment (read
    on each call, so tests can point it elsewhere)."""
    mode = settings.SWISH_ENVIRONMENT
    if settings.SWISH_API_URL:
        base = settings.SWISH_API_URL
    elif mode == "simulator":
        base = f"{settings.PUBLIC_BASE_URL}/swish-simulator/swish-cpcapi/api/"
    elif mode == "mss":
        base = MSS_BASE_URL
    else:
        base = PRODUCTION_BASE_URL
    return base if base.endswith("/") else base + "/"


def _mss_test_files() -> tuple[str, str, str]:
    # The merchant test certificate, its key and Swish's test root, as
    # shipped by getswish (the only thing the shop still takes from it).
    from getswish.environments import TestCertificates

    return (
        TestCertificates.communication.public,
        TestCertificates.communication.private_key,
        TestCertificates.verify.public,
    )


# The roots Swish's servers chain to (DigiCert Global Root CA, which certifi
# no longer holds, and DigiCert Global Root G2): docs/swish.md.
SWISH_ROOTS = Path(__file__).with_name("swish_roots.pem")


@cache
def default_ca_bundle() -> str:
    """certifi's bundle and SWISH_ROOTS in one file under VAR_DIR (written
    when its content differs), the CA bundle for Swish's API when
    SWISH_CA_PATH is unset: whichever of the two roots production chains
    to, the shop trusts it."""
    import certifi

    content = (
        Path(certifi.where()).read_bytes().rstrip(b"\n")
        + b"\n\n"
        + SWISH_ROOTS.read_bytes()
    )
    path = Path(settings.VAR_DIR) / "swish-ca-bundle.pem"
    if not path.exists() or path.read_bytes() != content:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_bytes(content)
        os.replace(partial, path)
    return str(path)


def tls_material() -> tuple[tuple[str, str] | None, str | bool]:
    """(client certificate and key, or None; CA bundle path, or True for
    requests' own bundle, certifi) for the configured environment."""
    mode = settings.SWISH_ENVIRONMENT
    cert, key = settings.SWISH_CERT_PATH, settings.SWISH_KEY_PATH
    if cert and key:
        # No CA path: certifi's bundle with the roots Swish's servers chain
        # to (default_ca_bundle).
        return (cert, key), settings.SWISH_CA_PATH or default_ca_bundle()
    if mode == "simulator":
        # Plain HTTP on loopback; no client certificate is checked.
        return None, settings.SWISH_CA_PATH or True
    if mode == "mss":
        test_cert, test_key, test_root = _mss_test_files()
        return (test_cert, test_key), settings.SWISH_CA_PATH or test_root
    raise RuntimeError("SWISH_CERT_PATH and SWISH_KEY_PATH are required")


# --- one kept-alive session and a bound on calls in flight -------------------


def max_in_flight() -> int:
    """Swish calls at once per process: below the app server's thread count
    (GUNICORN_THREADS - 1, at least 1), or SWISH_MAX_IN_FLIGHT if set lower."""
    bound = max(1, settings.GUNICORN_THREADS - 1)
    if settings.SWISH_MAX_IN_FLIGHT:
        bound = min(bound, settings.SWISH_MAX_IN_FLIGHT)
    return bound


_session: requests.Session | None = None
_session_pid: int | None = None
_session_lock = threading.Lock()


class _ResendOnDroppedConnection(Retry):
    """Send a PUT or GET once more, on a new connection, when the kept-alive
    connection it went out on was closed by the other end without an answer.

    A server closes a connection that has idled for its keep-alive time; a
    call that leaves just then meets "connection reset" or "remote end
    closed", and nothing says whether Swish read it. Sending it again is
    safe for PUT and GET only: each PUT names its object (the payment
    request's or refund's id, so a second one is refused with RP09 or
    RF09, which the services read as "it exists"), and a GET changes
    nothing. PATCH (cancel) is never sent twice. Neither is a call that
    timed out: Swish was reached and is slow, and a second wait would keep
    the buyer waiting twice as long. A refused connection is not retried
    either (``connect=0``): Swish is down, and the answer should come at
    once. The counts are given where the session is made (``get_session``).
    """

    def increment(
        self,
        method=None,
        url=None,
        response=None,
        error=None,
        _pool=None,
        _stacktrace=None,
    ):
        if isinstance(error, ReadTimeoutError):
            raise error.with_traceback(_stacktrace)
        return super().increment(method, url, response, error, _pool, _stacktrace)


class _NoCookies(requests.cookies.cookielib.DefaultCookiePolicy):
    """Swish sets no cookies; a shared session must never carry any."""

    def set_ok(self, cookie, request):
        return False


def get_session() -> requests.Session:
    """The process's one Swish session (made again after a fork, so gunicorn
    workers never share sockets). Its pool keeps up to max_in_flight()
    connections alive per host: one TLS handshake per connection, not per
    call. A PUT or GET whose kept connection was closed under it goes out
    once more on a new one (``_ResendOnDroppedConnection``)."""
    global _session, _session_pid
    pid = os.getpid()
    if _session is not None and _session_pid == pid:
        return _session
    with _session_lock:
        if _session is None or _session_pid != pid:
            session = requests.Session()
            session.cookies.set_policy(_NoCookies())
            size = max_in_flight()
            adapter = HTTPAdapter(
                pool_connections=2,
                pool_maxsize=size,
                max_retries=_ResendOnDroppedConnection(
                    total=1,
                    connect=0,
                    read=1,
                    status=0,
                    other=0,
                    redirect=False,
                    allowed_methods=frozenset({"GET", "PUT"}),
                    raise_on_status=False,
                    respect_retry_after_header=False,
                ),
            )
            session.mount("https://", adapter)
            session.mount("http://", adapter)
            _session, _session_pid = session, pid
    return _session


class _Slots:
    """A counting bound on calls in flight in this process. A thread that
    holds a slot may call Swish again (nested) without taking another.

    When every slot is taken, a caller waits for one only while Swish is
    keeping pace: up to SWISH_SLOT_WAIT_SECONDS, and only as long as every
    call in flight is younger than that. Once one has run longer, Swish (or
    the database under it) is slow, and the answer is SwishBusy at once, so
    the thread the bound keeps free is not held by waiters. A fast Swish in
    a rush then costs a buyer a moment's wait rather than a 503 and its
    Retry-After."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._freed = threading.Condition(self._lock)
        # When each call in flight took its slot (monotonic), by holder.
        self._since: dict[object, float] = {}
        self._local = threading.local()
        # False in a task worker (run_worker): it serves no requests, and its
        # few threads are its own bound; a read refused "Busy" there would
        # wait for the next scheduled read.
        self.bounded = True

    @property
    def in_flight(self) -> int:
        return len(self._since)

    def _take(self, holder: object) -> None:
        """Take a slot (under the lock), waiting while Swish keeps pace."""
        patience = settings.SWISH_SLOT_WAIT_SECONDS
        while self.bounded and len(self._since) >= max_in_flight():
            oldest = min(self._since.values(), default=time.monotonic())
            left = patience - (time.monotonic() - oldest)
            if left <= 0:
                raise SwishBusy(settings.BUSY_RETRY_AFTER_SECONDS)
            self._freed.wait(left)
        self._since[holder] = time.monotonic()

    @contextmanager
    def hold(self):
        depth = getattr(self._local, "depth", 0)
        holder = object()
        if depth == 0:
            with self._lock:
                self._take(holder)
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                with self._lock:
                    del self._since[holder]
                    self._freed.notify()


slots = _Slots()


def swish_slot():
    """Hold one of this process's max_in_flight() slots for a block of
    Swish calls (raises SwishBusy when none is free and Swish is slow, see
    ``_Slots``)."""
    return slots.hold()


# --- the calls ---------------------------------------------------------------


def _codes(response: requests.Response) -> list[str]:
    try:
        body = response.json()
    except ValueError:
        return []
    items = body if isinstance(body, list) else [body]
    return [
        str(item["errorCode"])
        for item in items
        if isinstance(item, dict) and item.get("errorCode")
    ]


def _call(name: str, object_id: str, *, json=None, headers=None) -> requests.Response:
    method, path = PATHS[name]
    url = base_url() + path.format(id=object_id)
    cert, verify = tls_material()
    with swish_slot():
        try:
            response = get_session().request(
                method,
                url,
                json=json,
                headers=headers,
                cert=cert,
                verify=verify,
                timeout=(
                    settings.SWISH_CONNECT_TIMEOUT_SECONDS,
                    settings.SWISH_HTTP_TIMEOUT_SECONDS,
                ),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            # Start afresh: no kept connection outlives a failed call.
            close_session()
            raise SwishUnavailable(f"{type(exc).__name__}: {exc}") from exc
    if 400 <= response.status_code < 500:
        codes = _codes(response)
        raise SwishRefused(response.status_code, codes, f"{method} {path}")
    if response.status_code >= 300:
        # 5xx, or a redirect Swish never sends (a proxy's answer).
        raise SwishUnavailable(f"HTTP {response.status_code} from {method} {path}")
    return response


def _json(response: requests.Response) -> dict:
    try:
        return response.json()
    except ValueError as exc:
        # A body that is not JSON (a proxy's error page).
        raise SwishUnavailable(f"not JSON: {exc}") from exc


def create_payment_request(
    *,
    request_id: str,
    amount: Decimal,
    message: str,
    reference: str,
    callback_identifier: str,
    payer_alias: str | None = None,
) -> Created:
    """PUT the payment request (m-commerce: no payer alias, so a token)."""
    body = {
        "payeePaymentReference": reference,
        "callbackUrl": callback_url(),
        "callbackIdentifier": callback_identifier,
        "payeeAlias": settings.SWISH_PAYEE_ALIAS,
        "amount": format_amount(amount),
        "currency": "SEK",
    }
    if message:
        body["message"] = message
    if payer_alias:
        body["payerAlias"] = payer_alias
    response = _call("create_payment_request", request_id, json=body)
    return Created(
        token=response.headers.get("PaymentRequestToken"),
        location=response.headers.get("Location"),
    )


def read_payment_request(request_id: str) -> dict:
    return _json(_call("read_payment_request", request_id))


def cancel_payment_request(request_id: str) -> dict:
    return _json(
        _call(
            "cancel_payment_request",
            request_id,
            json=[{"op": "replace", "path": "/status", "value": "cancelled"}],
            headers={"Content-Type": "application/json-patch+json"},
        )
    )


def create_refund(
    *,
    refund_id: str,
    original_payment_reference: str,
    payer_alias_of_payment: str,
    amount: Decimal,
    message: str,
    reference: str,
    callback_identifier: str,
) -> None:
    """PUT a refund of a paid payment back to its payer."""
    body = {
        "originalPaymentReference": original_payment_reference,
        "callbackUrl": callback_url(),
        "callbackIdentifier": callback_identifier,
        "payerAlias": settings.SWISH_PAYEE_ALIAS,
        "payeeAlias": payer_alias_of_payment,
        "amount": format_amount(amount),
        "currency": "SEK",
        "payerPaymentReference": reference,
    }
    if message:
        body["message"] = message
    _call("create_refund", refund_id, json=body)


def read_refund(refund_id: str) -> dict:
    return _json(_call("read_refund", refund_id))


def close_session() -> None:
    """Close the kept-alive connections (tests, and a process shutting down);
    the next call opens new ones."""
    global _session
    with _session_lock:
        session, _session = _session, None
    if session is not None:
        session.close()
