"""Issue 11, item 2: over-deep and oversized bodies are 400/413, never 500.

Over HTTP against the live server, on every JSON endpoint and the
simulator's Swish API.
"""

import logging

import pytest
import requests

DEEP = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
DEEP_LIST = b"[" * 5000 + b"]" * 5000
ENDPOINTS = [
    ("POST", "/reserve_ticket/"),
    ("POST", "/start_payment/"),
    ("PUT", "/validate_ticket/"),
]


@pytest.mark.parametrize("method,path", ENDPOINTS)
@pytest.mark.parametrize("body", [DEEP, DEEP_LIST], ids=["object", "list"])
def test_deep_nesting_is_invalid_request_data(
    live_server, db, method, path, body, caplog
):
    with caplog.at_level(logging.WARNING, logger="ticketshop.api"):
        response = requests.request(
            method,
            live_server.url + path,
            data=body,
            headers={"Content-Type": "application/json", "Connection": "close"},
            timeout=30,
        )
    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"
    assert any("nested too deeply" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("method,path", ENDPOINTS)
def test_a_body_over_the_limit_is_413(live_server, db, settings, method, path, caplog):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = b'{"x": "' + b"a" * 20_000 + b'"}'
    with caplog.at_level(logging.WARNING, logger="ticketshop.api"):
        response = requests.request(
            method,
            live_server.url + path,
            data=body,
            headers={"Content-Type": "application/json", "Connection": "close"},
            timeout=30,
        )
    assert response.status_code == 413
    assert response.json() == "InvalidRequestData"
    assert any("size limit" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("body", [DEEP, DEEP_LIST], ids=["object", "list"])
def test_the_simulator_answers_deep_nesting_with_400(live_server, db, body):
    response = requests.put(
        f"{live_server.url}/swish-simulator/swish-cpcapi/api/v2/paymentrequests/"
        + "A" * 32,
        data=body,
        headers={"Content-Type": "application/json", "Connection": "close"},
        timeout=30,
    )
    assert response.status_code == 400
