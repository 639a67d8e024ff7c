import pytest


@pytest.fixture(autouse=True)
def front_end_origin(settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://front.example.org"]


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["GET", "POST", "PUT"])
def test_preflight_allows_the_front_end_with_credentials(client, method):
    response = client.options(
        "/reserve_ticket/",
        HTTP_ORIGIN="https://front.example.org",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,bypass-tunnel-reminder",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://front.example.org"
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert method in response["Access-Control-Allow-Methods"]
    allowed = response["Access-Control-Allow-Headers"].lower()
    assert "content-type" in allowed
    assert "bypass-tunnel-reminder" in allowed


@pytest.mark.django_db
def test_other_origins_get_no_cors_headers(client):
    response = client.get("/get_chapterevents/", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in response


@pytest.mark.django_db
def test_simple_request_carries_cors_headers(client):
    response = client.get(
        "/get_chapterevents/", HTTP_ORIGIN="https://front.example.org"
    )
    assert response["Access-Control-Allow-Origin"] == "https://front.example.org"
    assert response["Access-Control-Allow-Credentials"] == "true"
