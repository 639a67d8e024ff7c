"""Signed ticket payloads: the shared test vectors, keys and their settings."""

import json
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command

from ticketshop.orders import signing
from ticketshop.scanning.checks import check_ticket_signing_key

VECTORS = json.loads((Path(__file__).parent / "signing_vectors.json").read_text())


def key_a():
    return signing.private_key_from_text(VECTORS["private_key"])


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["external_id"])
def test_valid_vectors_verify_and_name_their_ticket(vector):
    ticket = signing.verify_payload(vector["payload"], key=key_a().public_key())

    assert ticket == signing.SignedTicket(vector["external_id"], vector["event_id"])


@pytest.mark.parametrize("vector", VECTORS["valid"], ids=lambda v: v["external_id"])
def test_signing_reproduces_the_vectors(vector):
    payload = signing.sign_ticket(
        external_id=vector["external_id"], event_id=vector["event_id"], key=key_a()
    )

    assert payload == vector["payload"]


@pytest.mark.parametrize("vector", VECTORS["invalid"], ids=lambda v: v["why"])
def test_invalid_vectors_are_refused(vector):
    with pytest.raises(signing.BadTicketSignature):
        signing.verify_payload(vector["payload"], key=key_a().public_key())


def test_vectors_public_key_is_that_of_the_private_key():
    public = key_a().public_key()
    assert signing.b64url_encode(public.public_bytes_raw()) == VECTORS["public_key"]


def test_configured_key_is_used(settings):
    settings.TICKET_SIGNING_KEY = VECTORS["private_key"]

    payload = signing.sign_ticket(external_id="AB3CDE", event_id=7)

    assert payload == VECTORS["valid"][0]["payload"]
    assert signing.public_key_text() == VECTORS["public_key"]


def test_demo_key_is_generated_once_into_its_file(settings, tmp_path):
    settings.TICKET_SIGNING_KEY = ""
    settings.TICKET_SIGNING_KEY_FILE = str(tmp_path / "key")

    first = signing.public_key_text()

    assert (tmp_path / "key").stat().st_mode & 0o777 == 0o600
    signing._cached.clear()
    assert signing.public_key_text() == first


def test_production_without_a_key_refuses(settings, tmp_path):
    settings.TICKET_SIGNING_KEY = ""
    settings.TICKET_SIGNING_KEY_FILE = str(tmp_path / "never")
    settings.PRODUCTION = True

    with pytest.raises(ImproperlyConfigured):
        signing.private_key()
    assert [e.id for e in check_ticket_signing_key(None)] == ["scanning.E001"]
    assert not (tmp_path / "never").exists()


def test_malformed_configured_key_fails_the_check(settings):
    settings.TICKET_SIGNING_KEY = "too-short"

    assert [e.id for e in check_ticket_signing_key(None)] == ["scanning.E002"]


def test_command_generates_a_usable_key(capsys):
    call_command("ticket_signing_key", "--generate")
    text = capsys.readouterr().out.strip()

    key = signing.private_key_from_text(text)
    payload = signing.sign_ticket(external_id="AB3CDE", event_id=1, key=key)
    assert signing.verify_payload(payload, key=key.public_key()).event_id == 1
