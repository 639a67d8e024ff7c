"""The queue's actions; the only writer of an ``Entry``'s state (``ENTRY``)."""

import hashlib

from django.db import transaction
from django.utils import timezone

from .machines import ENTRY
from .models import Entry, Release


def normalise_email(email: str) -> str:
    """The address as one person: lower case, ``+tag`` removed, and for
    gmail.com/googlemail.com the dots Gmail ignores removed."""
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def session_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_entry(
    release: Release,
    *,
    session_token: str,
    email: str,
    tickets_wanted: int,
    language: str = "sv",
    swish_number: str = "",
    transition: str = "join",
    now=None,
) -> Entry:
    """Insert an entry through its machine (``join`` or ``join_waiting_list``)."""
    now = now or timezone.now()
    with transaction.atomic():
        ENTRY.check(transition, None)
        entry = Entry.objects.create(
            release=release,
            session_key_hash=session_hash(session_token),
            email=email,
            email_normalised=normalise_email(email),
            tickets_wanted=tickets_wanted,
            language=language,
            swish_number=swish_number,
            joined_at=now,
            state=ENTRY[transition].target,
        )
        ENTRY.save(entry, transition, created=True)
    return entry
