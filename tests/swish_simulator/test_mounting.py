"""The simulator's URLs follow SWISH_ENVIRONMENT at each request, whatever it
was when the URL configuration was first imported (test order, -k runs)."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("environment", ["mss", "production"])
def test_outside_the_simulator_its_pages_and_api_are_not_found(
    client, settings, environment
):
    settings.SWISH_ENVIRONMENT = environment
    assert client.get("/swish-simulator/").status_code == 404
    assert client.get("/swish-simulator/pay/some-token/").status_code == 404
    created = client.put(
        "/swish-simulator/swish-cpcapi/api/v2/paymentrequests/"
        "11A86BE70EA346E4B1C39C874173F088",
        "{}",
        content_type="application/json",
    )
    assert created.status_code == 404


def test_switching_back_to_the_simulator_serves_it_again(client, settings):
    settings.SWISH_ENVIRONMENT = "production"
    assert client.get("/swish-simulator/").status_code == 404
    settings.SWISH_ENVIRONMENT = "simulator"
    assert client.get("/swish-simulator/").status_code == 200
