"""The slow hasher runs once per credential; any account change drops it."""

import pytest
from django.contrib.auth.hashers import make_password

from ticketshop.scanning import credentials
from ticketshop.scanning.credentials import authenticate_scanner, verified_credentials
from ticketshop.scanning.errors import IncorrectPassword

from .factories import ScannerAccountFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


@pytest.fixture
def slow_checks(monkeypatch):
    """Count the hasher's checks (the real check still runs)."""
    calls = []
    real = credentials.check_password

    def counting(password, encoded, *args, **kwargs):
        calls.append(encoded)
        return real(password, encoded, *args, **kwargs)

    monkeypatch.setattr(credentials, "check_password", counting)
    return calls


def test_second_scan_skips_the_slow_hasher(slow_checks):
    account = ScannerAccountFactory(password=make_password(PASSWORD))

    assert authenticate_scanner(password=PASSWORD).account_id == account.pk
    assert authenticate_scanner(password=PASSWORD).account_id == account.pk

    assert slow_checks == [account.password]


def test_cache_never_holds_the_password(slow_checks):
    ScannerAccountFactory(password=make_password(PASSWORD))

    authenticate_scanner(password=PASSWORD)

    remembered = list(verified_credentials._expiry)
    assert len(remembered) == 1
    assert PASSWORD not in remembered[0]
    assert len(remembered[0]) == 64  # a hex HMAC-SHA256


def test_password_change_drops_the_verified_credential(slow_checks):
    account = ScannerAccountFactory(password=make_password(PASSWORD))
    authenticate_scanner(password=PASSWORD)

    account.set_password("a new password")
    account.save()

    with pytest.raises(IncorrectPassword):
        authenticate_scanner(password=PASSWORD)
    assert authenticate_scanner(password="a new password").account_id == account.pk
    assert len(slow_checks) == 3  # first check, the refused old one, the new one


def test_deactivated_account_is_refused_at_once(slow_checks):
    account = ScannerAccountFactory(password=make_password(PASSWORD))
    authenticate_scanner(password=PASSWORD)

    account.is_active = False
    account.save()

    with pytest.raises(IncorrectPassword):
        authenticate_scanner(password=PASSWORD)


def test_any_edit_of_the_account_needs_the_slow_check_again(slow_checks):
    account = ScannerAccountFactory(password=make_password(PASSWORD))
    authenticate_scanner(password=PASSWORD)

    account.name = "Renamed door"
    account.save()
    authenticate_scanner(password=PASSWORD)

    assert len(slow_checks) == 2


def test_verified_credential_expires(settings, slow_checks):
    settings.SCANNER_CREDENTIAL_CACHE_SECONDS = 300
    # This process's own memory only (not the shared known-good marker).
    settings.SCANNER_KNOWN_GOOD_SECONDS = 0
    ScannerAccountFactory(password=make_password(PASSWORD))
    authenticate_scanner(password=PASSWORD, monotonic=1000.0)

    authenticate_scanner(password=PASSWORD, monotonic=1299.0)
    assert len(slow_checks) == 1
    authenticate_scanner(password=PASSWORD, monotonic=1300.0)
    assert len(slow_checks) == 2


def test_wrong_password_is_never_remembered(slow_checks):
    ScannerAccountFactory(password=make_password(PASSWORD))

    for _ in range(2):
        with pytest.raises(IncorrectPassword):
            authenticate_scanner(password="wrong")

    assert len(slow_checks) == 2
    assert len(verified_credentials) == 0


def test_event_limits_are_read_on_every_scan(slow_checks):
    from tests.factories import ChapterEventFactory

    event = ChapterEventFactory()
    account = ScannerAccountFactory(password=make_password(PASSWORD))
    assert authenticate_scanner(password=PASSWORD).event_ids is None

    account.events.add(event)

    assert authenticate_scanner(password=PASSWORD).event_ids == {event.pk}


def test_digest_is_keyed_with_the_secret_key(settings):
    account = ScannerAccountFactory(password=make_password(PASSWORD))
    before = credentials.credential_digest(account, PASSWORD)

    settings.SECRET_KEY = "another secret key for this test only, long enough"

    assert credentials.credential_digest(account, PASSWORD) != before
