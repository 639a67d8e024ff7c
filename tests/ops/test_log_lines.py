"""Log lines from client input are escaped, and an expected client error is
one line (method, path, status, request id), not a traceback; through the
handler settings.LOGGING configures, in the plain and the JSON format."""

import io
import json
import logging

import pytest
from django.contrib.auth.models import User

from ticketshop.ops.logcontext import RequestIdFilter

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["plain", "json"])
def log_output(request):
    """What the configured console handler writes, in either format."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RequestIdFilter) for f in h.filters)
    )
    stream = io.StringIO()
    old_stream = handler.setStream(stream)
    old_formatter = handler.formatter
    if request.param == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"
            )
        )
    try:
        yield stream
    finally:
        handler.setStream(old_stream)
        handler.setFormatter(old_formatter)


def test_a_forged_callback_id_with_a_newline_stays_on_one_line(client, log_output):
    forged = "abc\n2026-12-05 12:00:00,000 ERROR ticketshop.payments [-] paid 9999 kr"
    response = client.post(
        "/swish/callback/", {"id": forged}, content_type="application/json"
    )
    assert response.status_code == 200
    lines = [line for line in log_output.getvalue().splitlines() if line]
    callback = [line for line in lines if "Swish callback" in line]
    assert len(callback) == 1, lines
    message = (
        json.loads(callback[0])["message"]
        if callback[0].startswith("{")
        else callback[0]
    )
    assert "abc\\n2026" in message
    assert not any(line.startswith("2026-12-05 12:00:00,000") for line in lines)


def test_a_403_is_one_line_with_method_path_and_status(client, log_output):
    client.force_login(
        User.objects.create_user("nobody", "n@x.se", "pw", is_staff=True)
    )
    response = client.get(
        "/admin/backoffice/salesoverview/dashboard/", HTTP_X_REQUEST_ID="req-403-test"
    )
    assert response.status_code == 403
    text = log_output.getvalue()
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if "answered 403" in line]
    assert len(lines) == 1, text
    assert "GET /admin/backoffice/salesoverview/dashboard/" in lines[0]
    assert "req-403-test" in lines[0]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/no-such-page/", 404),
        ("get", "/reserve_ticket/", 405),
        ("post", "/reserve_ticket/", 400),
    ],
)
def test_other_client_errors_are_one_line(client, log_output, method, path, status):
    response = getattr(client, method)(path, HTTP_X_REQUEST_ID="req-client-err")
    assert response.status_code == status
    text = log_output.getvalue()
    assert "Traceback" not in text
    lines = [line for line in text.splitlines() if f"answered {status}" in line]
    assert len(lines) == 1, text
    assert path in lines[0] and "req-client-err" in lines[0]
    if text.startswith("{"):
        assert json.loads(lines[0])["request_id"] == "req-client-err"
