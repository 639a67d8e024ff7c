"""The Swish client: getswish configured from settings, with errors sorted
into "refused" (Swish answered no) and "unavailable" (outcome unknown).

Create with v2 PUT, read and cancel on v1, refunds with v2 PUT / v1 GET, all
through getswish's transport (client certificate, CA bundle, timeouts).
"""

import logging
import re
import unicodedata
from copy import deepcopy
from dataclasses import dataclass
from decimal import Decimal

import requests
from django.conf import settings
from getswish import (
    Certificate,
    Certificates,
    Environment,
    ProductionEnvironment,
    SwishClient,
    SwishError,
    TestEnvironment,
)
from getswish.environments import TestCertificates

logger = logging.getLogger(__name__)

# Swish's allowed message characters (swish.md section 4.2), space included.
_MESSAGE_RE = re.compile(r'[^0-9a-zA-ZåäöÅÄÖ :;.,?!()\-"]')


class SwishUnavailable(Exception):
    """Swish could not be reached or failed (5xx): the outcome is unknown."""


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


def sanitise_message(text: str) -> str:
    """Return text in Swish's message characters, at most 50 of them."""
    kept = []
    for char in text:
        if char in "åäöÅÄÖ":
            kept.append(char)
            continue
        # é -> e, ü -> u: drop accents Swish does not allow.
        kept.append(
            unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
        )
    cleaned = _MESSAGE_RE.sub(" ", "".join(kept))
    return " ".join(cleaned.split())[:50].strip()


def format_amount(amount: Decimal) -> str:
    """Swish wants a string with two decimals."""
    return f"{amount:.2f}"


def callback_url() -> str:
    return settings.SWISH_CALLBACK_URL or f"{settings.PUBLIC_BASE_URL}/swish/callback/"


class ShopSwishClient(SwishClient):
    """getswish's client, plus reads that keep Swish's object as is.

    getswish's own retrieve/cancel map the object onto a dataclass and fail on
    a field it does not know; these return the raw dict for audit.
    """

    def read_payment_request(self, request_id: str) -> dict:
        return self._requests(
            "get", self._url("v1", f"/paymentrequests/{request_id}")
        ).json()

    def cancel_payment_request(self, request_id: str) -> dict:
        return self._requests(
            "patch",
            self._url("v1", f"/paymentrequests/{request_id}"),
            json=[{"op": "replace", "path": "/status", "value": "cancelled"}],
            headers={"Content-Type": "application/json-patch+json"},
        ).json()

    def read_refund(self, refund_id: str) -> dict:
        return self._requests("get", self._url("v1", f"/refunds/{refund_id}")).json()


def _certificates(default: Certificates | None) -> Certificates:
    cert = settings.SWISH_CERT_PATH
    key = settings.SWISH_KEY_PATH
    if cert and key:
        # A CA path of None lets requests use its own bundle (certifi), which
        # trusts both DigiCert roots Swish has used.
        return Certificates(
            Certificate(public=cert, private_key=key),
            Certificate(public=settings.SWISH_CA_PATH or None),
        )
    if default is None:
        raise RuntimeError("SWISH_CERT_PATH and SWISH_KEY_PATH are required")
    return deepcopy(default)


def get_client() -> ShopSwishClient:
    """Return a client for the configured environment (read on each call, so
    tests can point it elsewhere)."""
    mode = settings.SWISH_ENVIRONMENT
    if mode == "simulator":
        base = (
            settings.SWISH_API_URL
            or f"{settings.PUBLIC_BASE_URL}/swish-simulator/swish-cpcapi/api/"
        )
        # The simulator speaks plain HTTP and checks no certificate; getswish
        # still wants paths, so it gets its bundled MSS test files (unused).
        environment = Environment(name="simulator", base=base)
        certificates = deepcopy(TestCertificates)
    elif mode == "mss":
        environment = deepcopy(TestEnvironment)
        certificates = _certificates(TestCertificates)
    else:
        environment = deepcopy(ProductionEnvironment)
        certificates = _certificates(None)
    if settings.SWISH_API_URL:
        environment.base = settings.SWISH_API_URL
    if not environment.base.endswith("/"):
        environment.base += "/"
    timeout = settings.SWISH_HTTP_TIMEOUT_SECONDS
    return ShopSwishClient(
        environment=environment,
        certificates=certificates,
        merchant_swish_number=settings.SWISH_PAYEE_ALIAS,
        timeout=(min(5.0, timeout), timeout),
    )


def _sorted_error(exc: Exception) -> Exception:
    if isinstance(exc, SwishError):
        status = exc.response.status_code if exc.response is not None else 0
        if 400 <= status < 500:
            codes = [c for c in (exc.errors or {}) if c != "error"]
            return SwishRefused(status, codes, str(exc))
        return SwishUnavailable(f"HTTP {status}")
    return SwishUnavailable(f"{type(exc).__name__}: {exc}")


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except (SwishError, requests.RequestException, ValueError) as exc:
        # ValueError: a body that is not JSON (a proxy's error page).
        raise _sorted_error(exc) from exc


def create_payment_request(
    *,
    request_id: str,
    amount: Decimal,
    message: str,
    reference: str,
    callback_identifier: str,
) -> Created:
    """PUT the payment request (m-commerce: no payer alias, so a token)."""
    client = get_client()
    payment = _call(
        client.create_payment,
        format_amount(amount),
        callback_url(),
        None,
        id=request_id,
        message=message or None,
        payee_payment_reference=reference,
        callback_identifier=callback_identifier,
    )
    return Created(token=payment.payment_request_token, location=payment.location)


def read_payment_request(request_id: str) -> dict:
    return _call(get_client().read_payment_request, request_id)


def cancel_payment_request(request_id: str) -> dict:
    return _call(get_client().cancel_payment_request, request_id)


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
    client = get_client()
    _call(
        client.create_refund,
        original_payment_reference,
        callback_url(),
        payer_alias_of_payment,
        format_amount(amount),
        id=refund_id,
        message=message or None,
        payer_payment_reference=reference,
        callback_identifier=callback_identifier,
    )


def read_refund(refund_id: str) -> dict:
    return _call(get_client().read_refund, refund_id)
