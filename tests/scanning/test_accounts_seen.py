"""A scan reuses this process's read of the scanner accounts for at most
SCANNER_ACCOUNTS_CACHE_SECONDS; a change made in this process is seen at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ticketshop.scanning.models import ScannerAccount
from ticketshop.scanning.selectors import accounts_seen, recent_active_scanner_accounts

pytestmark = pytest.mark.django_db


PASSWORD = "dörrlösen-för-testet"  # noqa: S105


def _account(name="Dörr 1", password=PASSWORD):
    account = ScannerAccount(name=name)
    account.set_password(password)
    account.save()
    return account


def _reads() -> int:
    with CaptureQueriesContext(connection) as queries:
        recent_active_scanner_accounts()
    return len(queries)


def test_a_second_read_within_the_time_needs_no_query():
    _account()
    assert _reads() == 1
    assert _reads() == 0


def test_saving_deleting_or_limiting_an_account_is_seen_at_once(settings):
    account = _account()
    assert [a.name for a in recent_active_scanner_accounts()] == ["Dörr 1"]
    account.is_active = False
    account.save()
    assert recent_active_scanner_accounts() == []
    other = _account("Dörr 2")
    assert [a.name for a in recent_active_scanner_accounts()] == ["Dörr 2"]
    from tests.factories import ChapterEventFactory

    event = ChapterEventFactory()
    other.events.add(event)
    assert recent_active_scanner_accounts()[0].event_ids == frozenset({event.pk})
    other.delete()
    assert recent_active_scanner_accounts() == []


def test_a_change_made_elsewhere_is_seen_once_the_time_is_up(settings, monkeypatch):
    account = _account()
    recent_active_scanner_accounts()
    # As another process would: no signal reaches this one.
    ScannerAccount.objects.filter(pk=account.pk).update(is_active=False)
    assert len(recent_active_scanner_accounts()) == 1
    clock = [1e9]
    monkeypatch.setattr(
        "ticketshop.scanning.selectors.time.monotonic", lambda: clock[0]
    )
    accounts_seen.forget()
    recent_active_scanner_accounts()  # read at the fixed clock
    ScannerAccount.objects.filter(pk=account.pk).update(is_active=True)
    clock[0] += settings.SCANNER_ACCOUNTS_CACHE_SECONDS - 0.01
    assert recent_active_scanner_accounts() == []
    clock[0] += 0.02
    assert len(recent_active_scanner_accounts()) == 1


def test_zero_seconds_reads_every_time(settings):
    settings.SCANNER_ACCOUNTS_CACHE_SECONDS = 0
    _account()
    assert _reads() == 1
    assert _reads() == 1
