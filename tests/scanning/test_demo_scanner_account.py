"""seed_demo creates the demo's scanner account once and prints its password once."""

import io
import re

import pytest
from django.core.management import call_command

from ticketshop.scanning.models import ScannerAccount

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_demo_scanner_password_is_printed_once_and_works(scan):
    first = seed()
    second = seed()

    password = re.search(r"Scanner password for /scan/: (\S+)", first).group(1)
    assert "Scanner password" not in second
    account = ScannerAccount.objects.get(name="Demo door")
    assert account.password != password
    assert account.check_password(password)
    assert ScannerAccount.objects.filter(name="Demo door").count() == 1
    # The printed password scans (an unknown id: 404, not 401).
    assert scan("NOSUCH", password=password).status_code == 404
