"""Signed ticket payloads: what a ticket's QR code holds, checkable offline.

A payload is ``TS1.<external_id>.<event_id>.<signature>``: the format's
version, the ticket's 6-character id, its event, and an Ed25519 signature
(base64url, no padding) of everything before the last dot. The shop signs
with its private key; scanners verify with the public key (served to the
scanner page), so a scanner with no network can tell a ticket the shop
issued from a forged one. The private key never leaves the server.

Keys: ``TICKET_SIGNING_KEY`` (base64url of the 32-byte Ed25519 private key,
``manage.py ticket_signing_key --generate`` prints a new one) in
production; the demo generates one into ``var/ticket_signing_key`` on first
use.
"""

import base64
import binascii
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from ticketshop.api import parse_id

PREFIX = "TS1"
SEPARATOR = "."


class BadTicketSignature(Exception):
    """The payload is malformed or its signature is not the shop's."""


@dataclass(frozen=True)
class SignedTicket:
    external_id: str
    event_id: int


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def looks_signed(text: str) -> bool:
    """True when a scanned text is a signed payload rather than a bare id."""
    return text.strip().startswith(PREFIX + SEPARATOR)


def _message(external_id: str, event_id: int) -> str:
    return SEPARATOR.join([PREFIX, external_id, str(event_id)])


def sign_ticket(
    *, external_id: str, event_id: int, key: Ed25519PrivateKey | None = None
) -> str:
    """Return the signed payload of a ticket."""
    key = key or private_key()
    message = _message(external_id, event_id)
    signature = key.sign(message.encode("ascii"))
    return f"{message}{SEPARATOR}{b64url_encode(signature)}"


def verify_payload(
    payload: str, *, key: Ed25519PublicKey | None = None
) -> SignedTicket:
    """Return the ticket a payload names; raise BadTicketSignature if not genuine."""
    text = payload.strip()
    parts = text.split(SEPARATOR)
    if len(parts) != 4 or parts[0] != PREFIX:
        raise BadTicketSignature("not a ticket payload")
    _prefix, external_id, event, signature = parts
    # parse_id refuses an absurdly long number before int() would raise.
    event_id = parse_id(event) if event.isdigit() else None
    if event_id is None or not external_id.isalnum():
        raise BadTicketSignature("malformed payload")
    try:
        raw_signature = b64url_decode(signature)
    except (ValueError, binascii.Error) as error:
        raise BadTicketSignature("malformed signature") from error
    # Only the canonical encoding is accepted, so one payload has one spelling.
    if b64url_encode(raw_signature) != signature:
        raise BadTicketSignature("malformed signature")
    key = key or public_key()
    try:
        key.verify(raw_signature, _message(external_id, event_id).encode("ascii"))
    except InvalidSignature as error:
        raise BadTicketSignature("signature does not match") from error
    return SignedTicket(external_id=external_id, event_id=event_id)


# --- keys ---------------------------------------------------------------------

_lock = threading.Lock()
_cached: dict[str, Ed25519PrivateKey] = {}


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    """Return the key from base64url of its 32 raw bytes."""
    try:
        raw = b64url_decode(text.strip())
    except (ValueError, binascii.Error) as error:
        raise ImproperlyConfigured("TICKET_SIGNING_KEY is not base64url") from error
    if len(raw) != 32:
        raise ImproperlyConfigured("TICKET_SIGNING_KEY must be 32 bytes (base64url)")
    return Ed25519PrivateKey.from_private_bytes(raw)


def private_key_text(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return b64url_encode(raw)


def _demo_key_file() -> Path:
    return Path(settings.TICKET_SIGNING_KEY_FILE)


def _load_or_create_demo_key() -> Ed25519PrivateKey:
    """Read the demo key from var/, generating it the first time."""
    path = _demo_key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        text = private_key_text(Ed25519PrivateKey.generate())
        # O_EXCL: two processes starting at once keep the first one's key.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as file:
                file.write(text)
    return private_key_from_text(path.read_text())


def private_key() -> Ed25519PrivateKey:
    """Return the shop's signing key (settings, else the demo's file)."""
    configured = settings.TICKET_SIGNING_KEY
    cache_key = configured or str(_demo_key_file())
    key = _cached.get(cache_key)
    if key is not None:
        return key
    with _lock:
        if configured:
            key = private_key_from_text(configured)
        elif settings.PRODUCTION:
            raise ImproperlyConfigured("TICKET_SIGNING_KEY must be set in production.")
        else:
            key = _load_or_create_demo_key()
        _cached[cache_key] = key
        return key


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def public_key_text() -> str:
    """Return the public key as base64url of its 32 raw bytes (for scanners)."""
    return b64url_encode(public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
