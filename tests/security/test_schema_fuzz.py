"""Issue 11, item 5: a schema fuzzer against the live server.

Schemathesis reads /api/schema/?format=json from the live test server (with
the Swish simulator behind it) and sends generated requests, valid and
invalid, to every operation: no answer may be a 5xx, have a status the
schema does not list, or break the schema. start_payment and
session_payment_status carry the cookie of a real reservation, and half of
the scans the right scanner password, so they get past validation.
Bounded by MAX_EXAMPLES per operation (deterministic, no example database).
"""

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import event_with_types
from tests.scanning.factories import (
    SCANNER_PASSWORD,
    ScannerAccountFactory,
    paid_ticket,
)
from ticketshop.scanning.credentials import verified_credentials

MAX_EXAMPLES = 40
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def shop(swish, settings):
    """A live shop with an event, a paid ticket, a scanner and a reservation."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SCANNER_THROTTLE_LIMIT = 10_000
    verified_credentials.clear()
    ScannerAccountFactory()
    ticket = paid_ticket()
    event, (standard, _) = event_with_types(seats=100_000)
    http = requests.Session()
    reserved = http.post(
        f"{swish.url}/reserve_ticket/",
        json={
            "chapter_event": event.id,
            "tickets": [{"ticket_type": standard.id, "count": 1}],
        },
        timeout=30,
    )
    assert reserved.status_code == 201
    yield {"url": swish.url, "cookie": http.cookies["sessionid"], "ticket": ticket}
    http.close()
    verified_credentials.clear()


OPERATIONS = [
    ("GET", "/get_chapterevents/"),
    ("POST", "/reserve_ticket/"),
    ("POST", "/start_payment/"),
    ("GET", "/session_payment_status/"),
    ("PUT", "/validate_ticket/"),
    ("GET", "/generate_qr/{token}/"),
    # The scanner page's own endpoints.
    ("POST", "/scan/login/"),
    ("POST", "/scan/door/"),
    ("POST", "/scan/sync/"),
    ("PUT", "/scan/check/"),
    ("POST", "/scan/collect/"),
    # The waiting list.
    ("POST", "/api/waitlist/join/"),
    ("GET", "/api/waitlist/offer/{token}/"),
    ("POST", "/api/waitlist/offer/{token}/"),
    # The fair release's queue.
    ("POST", "/api/queue/join/"),
    ("GET", "/api/queue/status/"),
    ("POST", "/api/queue/leave/"),
    ("GET", "/api/queue/draw/"),
]


def test_the_fuzzer_covers_every_operation(shop):
    schema = schemathesis.openapi.from_url(f"{shop['url']}/api/schema/?format=json")
    found = {
        (result.ok().method.upper(), result.ok().path)
        for result in schema.get_all_operations()
    }
    assert found == set(OPERATIONS)


CASES = [(method, path, GenerationMode.POSITIVE) for method, path in OPERATIONS] + [
    # Bodies that break the schema (only operations with a body have any).
    (method, path, GenerationMode.NEGATIVE)
    for method, path in OPERATIONS
    if method in ("POST", "PUT")
]


@pytest.mark.parametrize("method,path,mode", CASES)
def test_api_answers_as_its_schema_says(shop, method, path, mode):
    # Schemathesis's own pytest loader does not run on pytest 9, so each
    # operation's Hypothesis strategy is driven here.
    schema = schemathesis.openapi.from_url(f"{shop['url']}/api/schema/?format=json")
    operation = schema[path][method]
    cookies = {}
    if path in ("/start_payment/", "/session_payment_status/"):
        cookies = {"sessionid": shop["cookie"]}
    seen = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis_settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case):
        if (
            path == "/validate_ticket/"
            and isinstance(case.body, dict)
            and isinstance(case.body.get("external_id"), str)
            and len(case.body["external_id"]) % 2 == 0
        ):
            case.body["password"] = SCANNER_PASSWORD
            if len(case.body["external_id"]) % 4 == 0:
                case.body["external_id"] = shop["ticket"].external_id
        elif (
            path.startswith("/scan/")
            and isinstance(case.body, dict)
            and isinstance(case.body.get("password"), str)
            and len(case.body["password"]) % 2 == 0
        ):
            # Half the scanner page's calls with the right password.
            case.body["password"] = SCANNER_PASSWORD
        response = case.call_and_validate(
            base_url=shop["url"],
            cookies=cookies,
            headers={"Connection": "close"},
            checks=CHECKS,
        )
        seen.append(response.status_code)

    call()
    if mode == GenerationMode.POSITIVE and path in PAST_VALIDATION:
        # The valid requests got past input validation (not all 400).
        assert PAST_VALIDATION[path] & set(seen), seen


# Statuses that show a valid request got past input validation.
PAST_VALIDATION = {
    "/start_payment/": {200},
    "/session_payment_status/": {200},
    "/validate_ticket/": {200, 401, 404},
    "/scan/login/": {200, 401},
    "/scan/door/": {200, 401},
    "/scan/sync/": {200, 401},
}
