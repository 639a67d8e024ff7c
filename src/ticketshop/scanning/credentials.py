"""Scanner passwords: checked with the slow hasher once, then remembered briefly.

The contract sends the password with every scan, and Django's hasher
deliberately costs a large fraction of a second. After one successful slow
check, each process remembers a keyed digest (HMAC with SECRET_KEY) of the
account's id, its password hash, its last change and the presented password.
Any change to the account gives another digest, so an edited account needs
the slow check again; the clear password is never kept.
"""

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core.cache import cache
from django.utils.crypto import constant_time_compare, salted_hmac

from .errors import IncorrectPassword
from .salts import ENV_PASSWORD_SALT
from .selectors import (
    ActiveScannerAccount,
    list_active_scanner_accounts,
    recent_active_scanner_accounts,
)

# settings.py digests SCANNER_PASSWORD with this same salt at start-up.
VERIFIED_SALT = "ticketshop.scanning.verified-credential"
ENV_SCANNER_NAME = "SCANNER_PASSWORD"


@dataclass(frozen=True)
class Scanner:
    """Who scans: an account, or the environment's shared password."""

    account_id: int | None
    name: str
    # None: every event; otherwise only tickets of these events.
    event_ids: frozenset[int] | None

    def may_scan(self, event_id: int) -> bool:
        return self.event_ids is None or event_id in self.event_ids


def keyed_digest(salt: str, value: str) -> str:
    """Return an HMAC-SHA256 of value keyed with SECRET_KEY and salt."""
    return salted_hmac(salt, value, algorithm="sha256").hexdigest()


class VerifiedCredentials:
    """Digests of credentials verified in this process, each for a short time."""

    def __init__(self, *, max_entries: int = 1000) -> None:
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def remember(self, digest: str, *, ttl: float, now: float) -> None:
        with self._lock:
            if len(self._expiry) >= self._max_entries:
                self._expiry = {d: t for d, t in self._expiry.items() if t > now}
                if len(self._expiry) >= self._max_entries:
                    self._expiry.clear()
            self._expiry[digest] = now + ttl

    def contains(self, digest: str, *, now: float) -> bool:
        expires = self._expiry.get(digest)
        if expires is None:
            return False
        if expires <= now:
            with self._lock:
                self._expiry.pop(digest, None)
            return False
        return True

    def clear(self) -> None:
        with self._lock:
            self._expiry.clear()

    def __len__(self) -> int:
        return len(self._expiry)


verified_credentials = VerifiedCredentials()

# A right password, once verified by the slow hash, is marked in the cache
# all processes share (by its keyed digest, which changes with any change to
# the account): a door that logged in once keeps scanning, on every server
# process, even while someone else at its address is throttled.
KNOWN_GOOD_PREFIX = "scanner-known-good:"


def credential_digest(account: ActiveScannerAccount, password: str) -> str:
    """Digest that changes whenever the account's password or any field does."""
    stamp = account.updated_at.isoformat() if account.updated_at else ""
    return keyed_digest(
        VERIFIED_SALT, f"{account.pk}\x00{account.password}\x00{stamp}\x00{password}"
    )


def authenticate_scanner(*, password: str, monotonic: float | None = None) -> Scanner:
    """Return the scanner whose password this is, or raise IncorrectPassword.

    Checks the environment's SCANNER_PASSWORD (constant-time, on digests),
    then credentials this process verified lately, then every active
    account with the slow hasher.
    """
    now = time.monotonic() if monotonic is None else monotonic
    accounts = list_active_scanner_accounts()
    known = _recognise(password, accounts, now)
    if known is not None:
        return known
    for account in accounts:
        if check_password(password, account.password):
            digest = credential_digest(account, password)
            verified_credentials.remember(
                digest, ttl=settings.SCANNER_CREDENTIAL_CACHE_SECONDS, now=now
            )
            cache.set(
                KNOWN_GOOD_PREFIX + digest,
                1,
                timeout=settings.SCANNER_KNOWN_GOOD_SECONDS,
            )
            return _scanner(account)
    raise IncorrectPassword()


def recognise_scanner(
    *, password: str, monotonic: float | None = None
) -> Scanner | None:
    """Return the scanner if the password is known without the slow hash.

    The environment's password or one verified lately in this process;
    None otherwise (which says nothing about whether it is right). The
    accounts are this process's read of the last
    ``SCANNER_ACCOUNTS_CACHE_SECONDS`` (``selectors.accounts_seen``).
    """
    now = time.monotonic() if monotonic is None else monotonic
    return _recognise(password, recent_active_scanner_accounts(), now)


def _recognise(
    password: str, accounts: list[ActiveScannerAccount], now: float
) -> Scanner | None:
    env_digest = settings.SCANNER_PASSWORD_DIGEST
    if env_digest and constant_time_compare(
        keyed_digest(ENV_PASSWORD_SALT, password), env_digest
    ):
        return Scanner(account_id=None, name=ENV_SCANNER_NAME, event_ids=None)
    digests = {credential_digest(account, password): account for account in accounts}
    for digest, account in digests.items():
        if verified_credentials.contains(digest, now=now):
            return _scanner(account)
    if not digests:
        return None
    known = cache.get_many([KNOWN_GOOD_PREFIX + d for d in digests])
    for key in known:
        digest = key.removeprefix(KNOWN_GOOD_PREFIX)
        verified_credentials.remember(
            digest, ttl=settings.SCANNER_CREDENTIAL_CACHE_SECONDS, now=now
        )
        return _scanner(digests[digest])
    return None


def _scanner(account: ActiveScannerAccount) -> Scanner:
    return Scanner(
        account_id=account.pk,
        name=account.name,
        event_ids=account.event_ids or None,
    )
