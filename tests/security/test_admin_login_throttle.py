"""Issue 11, item 7: the admin login locks a username out per address.

Over HTTP against the live server: ten wrong passwords for one username
from one address lock it for 15 minutes with a page that says so (the right
password too is then refused), logged; another username is not affected.
"""

import logging
import re

import pytest
import requests
from django.contrib.auth import get_user_model

PASSWORD = "a-long-admin-password-1"


@pytest.fixture
def admin_site(live_server, transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    users = get_user_model()
    for name in ("organiser", "other"):
        users.objects.create_superuser(name, f"{name}@example.org", PASSWORD)
    return live_server.url


def log_in(base: str, username: str, password: str, **headers) -> requests.Response:
    with requests.Session() as http:
        http.headers.update(headers)
        page = http.get(f"{base}/admin/login/", timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        return http.post(
            f"{base}/admin/login/?next=/admin/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": username,
                "password": password,
                "next": "/admin/",
            },
            allow_redirects=False,
            timeout=30,
        )


def test_ten_wrong_passwords_lock_the_username_for_15_minutes(admin_site, caplog):
    with caplog.at_level(logging.WARNING):
        statuses = [
            log_in(admin_site, "organiser", f"guess {i}").status_code for i in range(9)
        ]
        tenth = log_in(admin_site, "organiser", "guess 9", **{"Accept-Language": "en"})

    assert statuses == [200] * 9  # the form again, with its error
    assert tenth.status_code == 429
    assert "locked for 15 minutes" in tenth.text
    # Even the right password is refused now.
    assert log_in(admin_site, "organiser", PASSWORD).status_code == 429
    # Another username from the same address still logs in.
    assert log_in(admin_site, "other", PASSWORD).status_code == 302
    assert any(
        "admin login locked for 'organiser'" in r.getMessage() for r in caplog.records
    )


def test_the_lockout_page_is_in_swedish_by_default(admin_site):
    for i in range(10):
        response = log_in(admin_site, "organiser", f"guess {i}")
    assert response.status_code == 429
    assert "inloggningen är spärrad i 15 minuter" in response.text


def test_nine_wrong_passwords_then_the_right_one_logs_in(admin_site):
    for i in range(9):
        log_in(admin_site, "organiser", f"guess {i}")
    assert log_in(admin_site, "organiser", PASSWORD).status_code == 302
