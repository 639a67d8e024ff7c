"""Loading the settings writes no file but the demo's secret key, and the
Swish settings are checked by Django's system checks (manage.py check)."""

import subprocess
from pathlib import Path

import pytest
from django.core.checks import run_checks

from tests.fresh_process import SETUP, run_fresh


def load_settings(var_dir: Path, **env) -> subprocess.CompletedProcess:
    return run_fresh(f"{SETUP}; print('loaded')", var_dir, **env)


def test_settings_with_a_secret_key_write_nothing(tmp_path):
    var_dir = tmp_path / "var"
    result = load_settings(var_dir, DJANGO_SECRET_KEY="k" * 60)
    assert result.returncode == 0, result.stderr
    assert not var_dir.exists()


def test_the_demo_writes_only_its_secret_key(tmp_path):
    var_dir = tmp_path / "var"
    result = load_settings(var_dir)
    assert result.returncode == 0, result.stderr
    assert [p.name for p in var_dir.iterdir()] == ["secret_key"]


def test_a_bad_swish_environment_loads_but_fails_the_system_checks(tmp_path):
    # Loading the settings no longer raises...
    result = load_settings(tmp_path, SWISH_ENVIRONMENT="paypal")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("changes", "check_id"),
    [
        ({"SWISH_ENVIRONMENT": "paypal"}, "payments.E001"),
        ({"PRODUCTION": True}, "payments.E002"),
        ({"SWISH_ENVIRONMENT": "production", "SWISH_CERT_PATH": ""}, "payments.E003"),
        (
            {"SWISH_ENVIRONMENT": "production", "SWISH_CA_PATH": "/no/such/ca.pem"},
            "payments.E004",
        ),
        (
            {"SWISH_ENVIRONMENT": "production", "PUBLIC_BASE_URL": "http://x.org"},
            "payments.E005",
        ),
    ],
)
def test_each_swish_mistake_is_a_system_check_error(settings, changes, check_id):
    # ...the system checks (manage.py check, and the WSGI start) find it.
    for name, value in changes.items():
        setattr(settings, name, value)
    ids = {m.id for m in run_checks(tags=["ticketshop"]) if m.is_serious()}
    assert check_id in ids
