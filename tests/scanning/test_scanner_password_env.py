"""SCANNER_PASSWORD from the environment is accepted, and kept only as a digest."""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from ticketshop.scanning.credentials import ENV_PASSWORD_SALT, keyed_digest
from ticketshop.scanning.models import ScanLog

from .factories import paid_ticket

pytestmark = pytest.mark.django_db

ENV_PASSWORD = "shared door password"


@pytest.fixture
def env_password(settings):
    settings.SCANNER_PASSWORD_DIGEST = keyed_digest(ENV_PASSWORD_SALT, ENV_PASSWORD)


def test_environment_password_scans_without_any_account(scan, env_password):
    ticket = paid_ticket()

    response = scan(ticket.external_id, password=ENV_PASSWORD)

    assert response.status_code == 200
    assert response.json()["times_used"] == 0
    assert ScanLog.objects.get().scanner_name == "SCANNER_PASSWORD"
    assert ScanLog.objects.get().scanner is None


def test_environment_password_unset_accepts_nothing_else(scan, settings):
    settings.SCANNER_PASSWORD_DIGEST = ""
    ticket = paid_ticket()

    assert scan(ticket.external_id, password="").status_code == 401
    assert scan(ticket.external_id, password=ENV_PASSWORD).status_code == 401


def test_near_miss_of_environment_password_is_refused(scan, env_password):
    ticket = paid_ticket()

    assert scan(ticket.external_id, password=ENV_PASSWORD + " ").status_code == 401
    assert scan(ticket.external_id, password=ENV_PASSWORD.upper()).status_code == 401


def test_settings_keep_a_keyed_digest_not_the_password(tmp_path):
    """Load the settings in a fresh process with SCANNER_PASSWORD set."""
    env = {
        **os.environ,
        "SCANNER_PASSWORD": ENV_PASSWORD,
        "DJANGO_SECRET_KEY": "a-test-secret-key-of-some-length-0123456789",
        "TICKETSHOP_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "ticketshop.settings",
    }
    code = (
        "import json, sys, django; django.setup();"
        "from django.conf import settings as s;"
        "from ticketshop.scanning.credentials import ENV_PASSWORD_SALT, keyed_digest;"
        "print(json.dumps({'digest': s.SCANNER_PASSWORD_DIGEST,"
        " 'expected': keyed_digest(ENV_PASSWORD_SALT, sys.argv[1]),"
        " 'values': [str(getattr(s, n)) for n in dir(s) if n.isupper()]}))"
    )
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code, ENV_PASSWORD],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=django_settings.BASE_DIR,
        timeout=60,
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])

    assert loaded["digest"] == loaded["expected"]
    assert not any(ENV_PASSWORD in value for value in loaded["values"])
