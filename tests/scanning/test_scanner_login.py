"""POST /scan/login/ checks a scanner password and logs no scan."""

import pytest
from rest_framework.test import APIClient

from ticketshop.scanning.models import ScanLog

from .factories import SCANNER_PASSWORD

pytestmark = pytest.mark.django_db


def login(password, **extra):
    return APIClient().post(
        "/scan/login/", {"password": password}, format="json", **extra
    )


def test_right_password_names_the_account_and_logs_nothing(scanner_account):
    response = login(SCANNER_PASSWORD)

    assert response.status_code == 200
    assert response.json() == {"scanner": scanner_account.name}
    assert ScanLog.objects.count() == 0


def test_wrong_password_is_401_and_logs_nothing(scanner_account):
    response = login("not the password")

    assert response.status_code == 401
    assert response.json() == "Incorrect password"
    assert ScanLog.objects.count() == 0


def test_wrong_logins_count_towards_the_throttle(scanner_account, settings):
    settings.SCANNER_THROTTLE_LIMIT = 3
    for _ in range(3):
        assert login("wrong", REMOTE_ADDR="203.0.113.9").status_code == 401

    response = login(SCANNER_PASSWORD, REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 429
    assert response.json() == "TooManyAttempts"


@pytest.mark.parametrize("body", [{}, {"password": 7}, []])
def test_malformed_body_is_400(scanner_account, body):
    response = APIClient().post("/scan/login/", body, format="json")

    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"
