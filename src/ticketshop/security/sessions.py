"""A session engine: signed-in staff in the database, buyers in a signed cookie.

A buyer's session holds nothing but an order token, and a signed cookie
costs the reservation no database write and no read (bench/README.md). But
a signed cookie cannot be ended by the server: a copy keeps working until it
expires, logout or not. So a session that holds a signed-in user (the admin
and the back office) lives in Django's database store, and logging out
deletes its row, which ends every copy of the cookie at once.

The cookie's value tells the stores apart: a signed cookie always holds a
``:``, a database key never does. A signed cookie that names a signed-in
user (one from before this engine) is not believed: that user signs in
again. A signed cookie whose own expiry (``set_expiry``) has passed is
refused too, whatever its signature's age: Django's signed-cookie store
checks only ``SESSION_COOKIE_AGE`` (Django ticket #19201), so a copied
buyer's cookie would otherwise be accepted long after the browser dropped it.

Only the synchronous API routes between the stores (the shop runs under
WSGI); the async one reads the database store only, which refuses a signed
cookie's value as an unknown key.
"""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends import db
from django.core import signing

# Django's own signed-cookie salt: buyers' cookies from before stay valid.
COOKIE_SALT = "django.contrib.sessions.backends.signed_cookies"


def in_cookie(session_key: str | None) -> bool:
    """Whether the session key is a signed cookie's data (else a database key)."""
    return bool(session_key) and ":" in session_key


class SessionStore(db.SessionStore):
    """Keep a session with a signed-in user in the database, any other in the
    cookie itself."""

    def _signed_in(self) -> bool:
        return SESSION_KEY in getattr(self, "_session_cache", {})

    def load(self):
        if in_cookie(self.session_key):
            return self._load_cookie()
        return super().load()

    def _load_cookie(self) -> dict:
        try:
            data = signing.loads(
                self.session_key,
                serializer=self.serializer,
                max_age=self.get_session_cookie_age(),
                salt=COOKIE_SALT,
            )
        except Exception:  # noqa: BLE001 - bad signature, age or encoding
            data = None
        if not isinstance(data, dict) or SESSION_KEY in data or self._expired(data):
            # An empty session without a key: the response deletes the cookie.
            self._session_key = None
            return {}
        return data

    def _expired(self, data: dict) -> bool:
        expiry = data.get("_session_expiry")
        if not isinstance(expiry, str):
            # None: SESSION_COOKIE_AGE, which the signature's age checks.
            return False
        return self.get_expiry_age(expiry=expiry) <= 0

    def exists(self, session_key):
        return not in_cookie(session_key) and super().exists(session_key)

    def create(self):
        if self._signed_in():
            super().create()
            return
        # A cookie's key is made from its data when it is saved.
        self._session_key = None
        self.modified = True

    def save(self, must_create=False):
        if self._signed_in():
            if in_cookie(self.session_key):
                # Signing in: from the cookie to a new row of the database.
                self._session_key = None
            super().save(must_create=must_create)
            return
        if self.session_key and not in_cookie(self.session_key):
            # Signed out without a flush: the row goes, the data moves out.
            super().delete(self.session_key)
        self._session_key = signing.dumps(
            self._get_session(),
            compress=True,
            salt=COOKIE_SALT,
            serializer=self.serializer,
        )
        self.modified = True

    def delete(self, session_key=None):
        key = self.session_key if session_key is None else session_key
        if key and not in_cookie(key):
            super().delete(key)
