import pytest
from rest_framework.test import APIClient

from ticketshop.scanning.credentials import verified_credentials

from .factories import SCANNER_PASSWORD, ScannerAccountFactory


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """Hash scanner passwords cheaply; tests of the slow path set their own."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def forget_verified_credentials():
    """Each test starts with nothing verified in this process."""
    verified_credentials.clear()
    yield
    verified_credentials.clear()


@pytest.fixture
def scanner_account(db):
    return ScannerAccountFactory()


@pytest.fixture
def scan(scanner_account):
    """PUT /validate_ticket/ through a fresh APIClient; returns the response."""

    def put(external_id, *, use_ticket=True, password=SCANNER_PASSWORD, **extra):
        body = {
            "external_id": external_id,
            "password": password,
            "use_ticket": use_ticket,
        }
        return APIClient().put("/validate_ticket/", body, format="json", **extra)

    return put
