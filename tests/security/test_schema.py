"""Issue 11, item 5: the schema names each body and every contract status."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def body_schema(schema, path, method):
    ref = schema["paths"][path][method]["requestBody"]["content"]["application/json"]
    name = ref["schema"]["$ref"].rsplit("/", 1)[1]
    return name, schema["components"]["schemas"][name]


def strings(schema, path, method, status):
    body = schema["paths"][path][method]["responses"][str(status)]["content"]
    body = body["application/json"]["schema"]
    options = body.get("oneOf", [body])
    return {value for option in options for value in option.get("enum", [])}


def test_each_endpoint_has_its_own_request_body(schema):
    names = {
        body_schema(schema, "/reserve_ticket/", "post")[0],
        body_schema(schema, "/start_payment/", "post")[0],
        body_schema(schema, "/validate_ticket/", "put")[0],
    }
    assert names == {
        "ReserveTicketRequest",
        "StartPaymentRequest",
        "ValidateTicketRequest",
    }
    _, start = body_schema(schema, "/start_payment/", "post")
    assert set(start["properties"]) == {"email_address"}
    _, scan = body_schema(schema, "/validate_ticket/", "put")
    assert set(scan["properties"]) == {"external_id", "password", "use_ticket"}


def test_ids_are_integers_or_digit_strings(schema):
    _, reserve = body_schema(schema, "/reserve_ticket/", "post")
    types = {
        option["type"] for option in reserve["properties"]["chapter_event"]["oneOf"]
    }
    assert types == {"integer", "string"}


@pytest.mark.parametrize(
    "path,method,status,errors",
    [
        ("/reserve_ticket/", "post", 400, {"InvalidRequestData"}),
        (
            "/reserve_ticket/",
            "post",
            403,
            {
                "TooManyTickets",
                "SalesNotStarted",
                "CrossSiteRequest",
                "OutOfTickets",
                "NotAdmitted",
            },
        ),
        (
            "/reserve_ticket/",
            "post",
            404,
            {"EventDoesNotExist", "TicketTypeDoesNotExist"},
        ),
        ("/reserve_ticket/", "post", 413, {"InvalidRequestData"}),
        ("/reserve_ticket/", "post", 429, {"TooManyAttempts"}),
        ("/reserve_ticket/", "post", 503, {"Busy"}),
        (
            "/api/queue/join/",
            "post",
            400,
            {"InvalidRequestData", "SwishNumberRequired"},
        ),
        (
            "/api/queue/join/",
            "post",
            403,
            {"QueueNotOpen", "TooManyTickets", "CrossSiteRequest"},
        ),
        ("/api/queue/join/", "post", 404, {"EventDoesNotExist", "NoQueue"}),
        ("/api/queue/join/", "post", 409, {"AlreadyInQueue"}),
        ("/api/queue/join/", "post", 429, {"TooManyAttempts"}),
        ("/api/queue/status/", "get", 404, {"NotInQueue"}),
        ("/api/queue/leave/", "post", 404, {"NotInQueue"}),
        ("/api/queue/draw/", "get", 404, {"NoQueue"}),
        ("/start_payment/", "post", 400, {"InvalidRequestData", "InvalidSession"}),
        (
            "/start_payment/",
            "post",
            403,
            {"AlreadyPaidPayment", "ConfirmationRequired", "CrossSiteRequest"},
        ),
        ("/start_payment/", "post", 408, {"SessionExpired"}),
        ("/start_payment/", "post", 500, {"PaymentStartFailed", "ServerError"}),
        ("/start_payment/", "post", 503, {"Busy"}),
        ("/validate_ticket/", "put", 401, {"Incorrect password"}),
        ("/validate_ticket/", "put", 403, {"CrossSiteRequest"}),
        ("/validate_ticket/", "put", 404, {-1, "Ticket does not exist"}),
        ("/validate_ticket/", "put", 429, {"TooManyAttempts"}),
        ("/session_payment_status/", "get", 400, {"InvalidSession"}),
        ("/generate_qr/{token}/", "get", 404, {"PaymentDoesNotExist"}),
    ],
)
def test_every_contract_error_is_documented(schema, path, method, status, errors):
    found = strings(schema, path, method, status)
    body = schema["paths"][path][method]["responses"][str(status)]["content"]
    for option in body["application/json"]["schema"].get("oneOf", []):
        for prop in option.get("properties", {}).values():
            found |= set(prop.get("enum", []))
    if "properties" in body["application/json"]["schema"]:
        for prop in body["application/json"]["schema"]["properties"].values():
            found |= set(prop.get("enum", []))
    assert found == errors
