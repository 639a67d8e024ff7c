"""PostgreSQL's health check (ticketshop/db/postgresql/base.py): no round
trip for a connection the server has said nothing on; a connection the
server ended is found unusable and replaced before the request's query."""

import time

import psycopg
import pytest
from django.db import connection
from django.db.backends.postgresql import base as django_base

pytestmark = [pytest.mark.postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def asked(monkeypatch):
    """The times Django's own check (SELECT 1) was run."""
    calls = []
    original = django_base.DatabaseWrapper.is_usable

    def counting(self):
        calls.append(self.alias)
        return original(self)

    monkeypatch.setattr(django_base.DatabaseWrapper, "is_usable", counting)
    return calls


def _terminate_from_outside() -> None:
    """End this connection's backend from another session, as a restart or
    an administrator does, and wait until its FATAL reaches the socket."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        assert other.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
    import select

    poller = select.poll()
    poller.register(connection.connection.fileno(), select.POLLIN)
    deadline = time.monotonic() + 5
    while not poller.poll(50):
        assert time.monotonic() < deadline, "the FATAL never reached the socket"


def test_a_connection_the_server_said_nothing_on_is_usable_without_asking(asked):
    connection.ensure_connection()
    assert connection.is_usable()
    assert asked == []


def test_a_connection_the_server_ended_is_unusable_and_replaced(asked):
    connection.ensure_connection()
    _terminate_from_outside()
    assert not connection.is_usable()
    assert asked == ["default"]  # asked, as Django would have
    # What a request does before its first query: the next query runs on a
    # new connection instead of failing.
    connection.health_check_done = False
    connection.close_if_health_check_failed()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_connection_inside_a_transaction_is_asked(asked):
    from django.db import transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        assert connection.is_usable()
    assert asked == ["default"]


def test_the_shop_runs_on_this_backend():
    from django.conf import settings

    assert settings.DATABASES["default"]["ENGINE"] == "ticketshop.db.postgresql"
    assert connection.vendor == "postgresql"
