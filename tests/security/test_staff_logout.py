"""Logging out of the admin (and the back office inside it) ends the session
everywhere: a copy of the cookie taken before the logout no longer signs in.

Over HTTP against the live server: an organiser signs in, the cookie is
copied into a second client (another browser, or a thief), the organiser
logs out, and the copy is sent to the login page like an anonymous visitor.
"""

import re

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session

PASSWORD = "a-long-admin-password-1"
COOKIE = django_settings.SESSION_COOKIE_NAME


@pytest.fixture
def admin_site(live_server, transactional_db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    get_user_model().objects.create_superuser(
        "organiser", "organiser@example.org", PASSWORD
    )
    return live_server.url


def signed_in(base: str) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{base}/admin/login/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    answer = http.post(
        f"{base}/admin/login/?next=/admin/",
        data={
            "csrfmiddlewaretoken": token.group(1),
            "username": "organiser",
            "password": PASSWORD,
            "next": "/admin/",
        },
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text
    assert answer.headers["Location"] == "/admin/"
    return http


def copy_of(http: requests.Session, base: str) -> requests.Session:
    thief = requests.Session()
    thief.cookies.set(COOKIE, http.cookies[COOKIE])
    return thief


def admin_index(http: requests.Session, base: str) -> requests.Response:
    return http.get(f"{base}/admin/", allow_redirects=False, timeout=30)


def log_out(http: requests.Session, base: str) -> None:
    page = http.get(f"{base}/admin/", timeout=30)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    answer = http.post(
        f"{base}/admin/logout/",
        data={"csrfmiddlewaretoken": token.group(1)},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 200, answer.status_code


def test_copied_admin_cookie_is_refused_after_logout(admin_site):
    organiser = signed_in(admin_site)
    thief = copy_of(organiser, admin_site)
    try:
        # The copy works while the organiser is signed in.
        assert admin_index(thief, admin_site).status_code == 200

        log_out(organiser, admin_site)

        answer = admin_index(thief, admin_site)
        assert answer.status_code == 302
        assert answer.headers["Location"].startswith("/admin/login/")
        assert admin_index(organiser, admin_site).status_code == 302
    finally:
        organiser.close()
        thief.close()


def test_logout_ends_only_its_own_session(admin_site):
    """A second sign-in of the same organiser (another device) keeps working."""
    laptop = signed_in(admin_site)
    phone = signed_in(admin_site)
    try:
        log_out(laptop, admin_site)
        assert admin_index(phone, admin_site).status_code == 200
    finally:
        laptop.close()
        phone.close()


def test_signed_in_session_is_kept_on_the_server(admin_site):
    organiser = signed_in(admin_site)
    try:
        key = organiser.cookies[COOKIE]
        # A row to delete, not data in the cookie that a copy would carry.
        assert Session.objects.filter(session_key=key).exists()
        log_out(organiser, admin_site)
        assert not Session.objects.filter(session_key=key).exists()
    finally:
        organiser.close()


def test_signed_cookie_claiming_a_signed_in_user_is_refused(admin_site):
    """A staff session in a signed cookie (as issued before) cannot be ended
    by the server, so it is not believed: sign in again."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.signed_cookies import SessionStore

    user = get_user_model().objects.get(username="organiser")
    old = SessionStore()
    old[SESSION_KEY] = str(user.pk)
    old[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    old[HASH_SESSION_KEY] = user.get_session_auth_hash()
    old.save()
    with requests.Session() as http:
        http.cookies.set(COOKIE, old.session_key)
        answer = admin_index(http, admin_site)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/admin/login/")
