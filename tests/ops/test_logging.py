"""JSON logs carry the request id that the response names."""

import json
import logging

import pytest

from ticketshop.ops.logcontext import RequestIdFilter


def json_handler(stream):
    from pythonjsonlogger.json import JsonFormatter

    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter("%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s")
    )
    return handler


@pytest.mark.django_db
def test_log_lines_of_a_request_carry_its_id(client, monkeypatch, capsys):
    import io

    stream = io.StringIO()
    handler = json_handler(stream)
    logger = logging.getLogger("ticketshop.ops.health")
    logger.addHandler(handler)
    try:
        # no worker heartbeat: the health check logs nothing, so log from
        # inside the request through a view it calls
        from ticketshop.ops import health

        original = health.check_cache

        def logging_check():
            logger.warning("checking the cache")
            return original()

        monkeypatch.setattr(health, "check_cache", logging_check)
        response = client.get("/healthz", HTTP_X_REQUEST_ID="req-0123456789")
    finally:
        logger.removeHandler(handler)
    assert response["X-Request-ID"] == "req-0123456789"
    record = json.loads(stream.getvalue().splitlines()[0])
    assert record["request_id"] == "req-0123456789"
    assert record["message"] == "checking the cache"


@pytest.mark.django_db
def test_a_fresh_id_when_the_header_is_missing_or_odd(client):
    a = client.get("/healthz?scope=web")["X-Request-ID"]
    b = client.get("/healthz?scope=web", HTTP_X_REQUEST_ID="bad id\n")["X-Request-ID"]
    assert len(a) == 32 and len(b) == 32 and a != b


def test_log_format_json_configures_the_json_formatter(monkeypatch):
    import subprocess
    import sys

    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, logging; django.setup();"
            "logging.getLogger('probe').warning('hello')",
        ],
        env={
            **__import__("os").environ,
            "LOG_FORMAT": "json",
            "DJANGO_SETTINGS_MODULE": "ticketshop.settings",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    record = json.loads(out.stderr.strip().splitlines()[-1])
    assert record["message"] == "hello" and record["level"] == "WARNING"
    assert record["request_id"] == "-"
