"""Issue 11, item 7: production refuses weak settings and passes check --deploy."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.payments.certmaterial import swish_pki, write

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def production(tmp_path):
    # A certificate as Swish's portal issues one, for the payee alias, with
    # its chain: anything less is (rightly) a warning of the Swish checks.
    pki = swish_pki()
    cert, key = write(
        tmp_path, "swish", pki.merchant("1231181189"), pki.intermediate, pki.root
    )
    return {
        "DJANGO_ENV": "production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "shop.example.org",
        "SWISH_ENVIRONMENT": "production",
        "SWISH_CERT_PATH": str(cert),
        "SWISH_KEY_PATH": str(key),
        "SWISH_PAYEE_ALIAS": "1231181189",
        "PUBLIC_BASE_URL": "https://shop.example.org",
        "TICKETSHOP_VAR_DIR": str(tmp_path),
        # The tickets' signing key (32 bytes, base64url), as production needs.
        "TICKET_SIGNING_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32))
        .rstrip(b"=")
        .decode(),
    }


def manage(*args, **env) -> subprocess.CompletedProcess:
    """Run manage.py in a fresh process with only the given settings."""
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SWISH_", "DJANGO_", "PUBLIC_BASE_URL", "SECURE_"))
        and k not in ("TRUSTED_PROXY_COUNT", "SCANNER_PROXY_COUNT")
    }
    environ.update(env)
    return subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


def test_check_deploy_is_clean_in_production(production):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


@pytest.mark.parametrize("key", ["x", "k" * 49])
def test_a_short_secret_key_refuses_to_start(production, key):
    result = manage("check", **{**production, "DJANGO_SECRET_KEY": key})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be at least 50" in result.stderr


def test_debug_refuses_to_start(production):
    result = manage("check", **{**production, "DJANGO_DEBUG": "true"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be off in production" in result.stderr


def test_production_sets_https_and_hsts(production):
    code = (
        "from django.conf import settings as s; "
        "print(s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS >= 31536000,"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE)"
    )
    result = manage("shell", "--no-imports", "-c", code, **production)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "True", "True"]


def test_the_old_proxy_setting_still_counts(production):
    code = "from django.conf import settings as s; print(s.TRUSTED_PROXY_COUNT)"
    result = manage(
        "shell", "--no-imports", "-c", code, **production, SCANNER_PROXY_COUNT="2"
    )
    assert result.stdout.split() == ["2"]
    result = manage(
        "shell", "--no-imports", "-c", code, **production, TRUSTED_PROXY_COUNT="1"
    )
    assert result.stdout.split() == ["1"]


def test_a_bad_reservation_rate_is_a_system_error(production):
    result = manage("check", **production, RESERVATION_RATE_LIMIT="lots")
    assert result.returncode != 0
    assert "RESERVATION_RATE_LIMIT is not a rate" in result.stderr


def serve(**env) -> subprocess.CompletedProcess:
    """Load the WSGI application as gunicorn does, in a fresh process."""
    return manage_like([sys.executable, "-c", "import ticketshop.wsgi"], env)


def manage_like(argv, env) -> subprocess.CompletedProcess:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SWISH_", "DJANGO_", "PUBLIC_BASE_URL", "SECURE_"))
        and k not in ("TRUSTED_PROXY_COUNT", "SCANNER_PROXY_COUNT")
    }
    environ.update(env, PYTHONPATH=str(ROOT / "src"))
    environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketshop.settings")
    return subprocess.run(  # noqa: S603
        argv, env=environ, capture_output=True, text=True, timeout=120, check=False
    )


def last_line(result: subprocess.CompletedProcess) -> str:
    return result.stderr.strip().splitlines()[-1]


def test_production_serves_with_good_settings(production):
    result = serve(**production)
    assert result.returncode == 0, result.stderr


def test_production_without_a_signing_key_refuses_to_serve(production):
    result = serve(**{**production, "TICKET_SIGNING_KEY": ""})
    assert result.returncode != 0
    assert "TICKET_SIGNING_KEY must be set in production" in last_line(result)


def test_a_malformed_signing_key_refuses_to_serve(production):
    result = serve(**{**production, "TICKET_SIGNING_KEY": "not-a-key"})
    assert result.returncode != 0
    assert "TICKET_SIGNING_KEY" in last_line(result)


@pytest.mark.parametrize(
    "key",
    ["a" * 50, "ab" * 40, "0123456789" * 6, "django-insecure-" + "x" * 50],
)
def test_a_low_entropy_secret_key_refuses_to_start(production, key):
    result = manage("check", **{**production, "DJANGO_SECRET_KEY": key})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY looks made by hand" in last_line(result)


def test_keys_made_as_the_docs_say_are_accepted():
    from django.core.management.utils import get_random_secret_key

    from ticketshop.security.startup import secret_key_problem

    # The demo's own key (settings._demo_secret_key), the README's recipe and
    # Django's generator: none may trip the rule by bad luck.
    for _ in range(2000):
        assert secret_key_problem(secrets.token_urlsafe(50)) is None
        assert secret_key_problem(get_random_secret_key()) is None


def test_a_mistyped_reservation_limit_refuses_to_serve(production):
    result = serve(**production, RESERVATION_RATE_LIMIT="20 per minute")
    assert result.returncode != 0
    assert "RESERVATION_RATE_LIMIT is not a rate: '20 per minute'" in last_line(result)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SCANNER_THROTTLE_LIMIT", "ten"),
        ("SCANNER_THROTTLE_LIMIT", "0"),
        ("SCANNER_THROTTLE_WINDOW_SECONDS", "1m"),
        ("TRUSTED_PROXY_COUNT", "yes"),
        ("ADMIN_LOGIN_FAILURE_LIMIT", "-1"),
    ],
)
def test_a_mistyped_limit_refuses_to_serve_with_one_sentence(production, name, value):
    result = serve(**production, **{name: value})
    assert result.returncode != 0
    assert f"{name} must be a whole number of at least" in last_line(result)
