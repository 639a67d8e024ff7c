"""The QR code a desktop buyer scans with the Swish app.

In production the image comes from Swish's own QR service for payment request
tokens (``SWISH_QR_SERVICE_URL``), which knows the format the app expects and
draws Swish's branded code. When that service does not answer in
``SWISH_QR_TIMEOUT_SECONDS``, or answers anything but a PNG, the code is drawn
here instead, so a slow service never leaves the buyer without a code to scan.
The simulator and MSS have no such service: the code is always drawn here.

The local drawing holds ``"D" + token``. Swish's published documents describe
only the static C2B format (``C<number>;<amount>;<message>;<lock>``); the ``D``
prefix for a commerce token is what third-party integrations encode (see the
docs/swish.md, "The QR code"), so it is the fallback, not the first choice.
"""

import io
import logging

import requests
import segno
from django.conf import settings

logger = logging.getLogger(__name__)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# Swish's service draws at least 300 px; the pay page shows 260 CSS px.
SERVICE_SIZE = 300


def draw_payment_qr(token: str) -> bytes:
    """Return a PNG of the token's QR code drawn here (``D`` + token)."""
    buffer = io.BytesIO()
    segno.make(f"D{token}", error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def fetch_swish_qr(token: str) -> bytes | None:
    """Return Swish's own PNG for the token, or None (not used, slow, failed)."""
    url = settings.SWISH_QR_SERVICE_URL
    if settings.SWISH_ENVIRONMENT != "production" or not url:
        # The simulator's and MSS's tokens mean nothing to Swish's service.
        return None
    timeout = settings.SWISH_QR_TIMEOUT_SECONDS
    try:
        response = requests.post(
            url,
            json={"token": token, "format": "png", "size": SERVICE_SIZE, "border": 1},
            timeout=(timeout, timeout),
        )
    except requests.RequestException as exc:
        logger.warning("Swish QR service failed (%s); drawing the QR code here", exc)
        return None
    content_type = response.headers.get("Content-Type", "")
    if (
        response.status_code != 200
        or not content_type.startswith("image/png")
        or not response.content.startswith(PNG_MAGIC)
    ):
        logger.warning(
            "Swish QR service answered %s %s; drawing the QR code here",
            response.status_code,
            content_type or "without a content type",
        )
        return None
    return response.content


def payment_qr_png(token: str) -> bytes:
    """Return the PNG QR code of a payment request token: Swish's, or ours."""
    return fetch_swish_qr(token) or draw_payment_qr(token)
