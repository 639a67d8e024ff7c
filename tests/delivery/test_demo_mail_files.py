"""The demo writes each e-mail to a file and says where."""

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import mark_paid, reserve, run_worker


@pytest.mark.django_db(transaction=True)
def test_demo_file_backend_writes_the_email_under_the_mail_folder(
    settings, tmp_path, caplog
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    order = mark_paid(reserve(counts=(1, 1)))

    with caplog.at_level(logging.INFO, logger="ticketshop.delivery.services"):
        run_worker()

    files = list((tmp_path / "mail").iterdir())
    assert len(files) == 1
    content = files[0].read_bytes()
    assert b"To: kund@example.org" in content
    assert b"application/pdf" in content
    assert f"written under {tmp_path / 'mail'}" in caplog.text
    assert order.reference in caplog.text


def test_demo_default_email_url_is_the_file_backend_under_var(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "EMAIL_URL"}
    env["TICKETSHOP_VAR_DIR"] = str(tmp_path)
    env["DJANGO_SETTINGS_MODULE"] = "ticketshop.settings"
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2] / "src")
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings;"
            "print(settings.EMAIL_BACKEND); print(settings.EMAIL_FILE_PATH)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.split() == [
        "django.core.mail.backends.filebased.EmailBackend",
        str(tmp_path / "mail"),
    ]
