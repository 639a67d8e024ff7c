"""Swish configuration: production without its certificate, key, payee alias
or an HTTPS callback URL refuses to start; the simulator never runs in
production."""

import base64
import secrets
import subprocess

import pytest

from tests.fresh_process import WSGI, run_fresh


def start(tmp_path, **env) -> subprocess.CompletedProcess:
    """Load the WSGI application in a fresh process, as a server start does
    (the settings, then the shop's start-up checks)."""
    return run_fresh(f"{WSGI}; print('started')", tmp_path, **env)


@pytest.fixture
def cert_files(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.write_text("cert")
    key.write_text("key")
    return str(cert), str(key)


PRODUCTION = {
    "DJANGO_ENV": "production",
    # Production refuses a guessable key and a missing signing key.
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "TICKET_SIGNING_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32))
    .rstrip(b"=")
    .decode(),
    "DJANGO_ALLOWED_HOSTS": "shop.example.org",
    "SWISH_ENVIRONMENT": "production",
    "PUBLIC_BASE_URL": "https://shop.example.org",
    "SWISH_PAYEE_ALIAS": "1231181189",
}


def test_production_with_everything_starts(tmp_path, cert_files):
    cert, key = cert_files
    result = start(tmp_path, **PRODUCTION, SWISH_CERT_PATH=cert, SWISH_KEY_PATH=key)
    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("SWISH_CERT_PATH", "SWISH_CERT_PATH"),
        ("SWISH_KEY_PATH", "SWISH_KEY_PATH"),
        ("SWISH_PAYEE_ALIAS", "SWISH_PAYEE_ALIAS"),
    ],
)
def test_production_without_swish_config_refuses_to_start(
    tmp_path, cert_files, missing, message
):
    cert, key = cert_files
    env = {**PRODUCTION, "SWISH_CERT_PATH": cert, "SWISH_KEY_PATH": key}
    env.pop(missing)
    result = start(tmp_path, **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and message in result.stderr


def test_production_with_a_missing_certificate_file_refuses_to_start(
    tmp_path, cert_files
):
    _, key = cert_files
    result = start(
        tmp_path, **PRODUCTION, SWISH_CERT_PATH="/nonexistent.pem", SWISH_KEY_PATH=key
    )
    assert result.returncode != 0
    assert "/nonexistent.pem" in result.stderr


def test_production_with_a_plain_http_callback_refuses_to_start(tmp_path, cert_files):
    cert, key = cert_files
    env = {**PRODUCTION, "PUBLIC_BASE_URL": "http://shop.example.org"}
    result = start(tmp_path, **env, SWISH_CERT_PATH=cert, SWISH_KEY_PATH=key)
    assert result.returncode != 0
    assert "HTTPS" in result.stderr


def test_simulator_in_production_refuses_to_start(tmp_path):
    env = {**PRODUCTION, "SWISH_ENVIRONMENT": "simulator"}
    result = start(tmp_path, **env)
    assert result.returncode != 0
    assert "SWISH_ENVIRONMENT" in result.stderr


def test_demo_defaults_to_the_simulator(tmp_path):
    result = start(tmp_path)
    assert result.returncode == 0, result.stderr
