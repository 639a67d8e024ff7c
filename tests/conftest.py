import socket
import threading

import pytest
from django.core.servers.basehttp import ServerHandler, ThreadedWSGIServer
from rest_framework.test import APIClient

# Django's test server listens with a backlog of 10 connections and runs
# every request at once in a thread of its own (each with a database
# connection), so a rush of 200 buyers gets connections reset or exhausts
# PostgreSQL's 100 connections. Make it behave like gunicorn in production: a
# long listen queue and a bounded number of requests handled at once.
ThreadedWSGIServer.request_queue_size = 1024
_request_slots = threading.BoundedSemaphore(24)
_run_application = ServerHandler.run


def _bounded_run(self, application):
    with _request_slots:
        _run_application(self, application)


ServerHandler.run = _bounded_run


def pytest_collection_modifyitems(config, items):
    """Leave tests marked ``sqlite_only`` out of a run on another database,
    and those marked ``postgres_only`` out of a run on another than PostgreSQL.

    They test one database's own machinery (SQLite's writer queue,
    PostgreSQL's one-round-trip reservation), which the other does not have:
    deselected rather than skipped, so that every skip in CI means something
    is missing (.ci/skips.py fails the run on one).
    """
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    left_out = []
    if not engine.endswith("sqlite3"):
        left_out.append("sqlite_only")
    if not engine.endswith("postgresql"):
        left_out.append("postgres_only")
    kept, dropped = [], []
    for item in items:
        out = any(item.get_closest_marker(name) for name in left_out)
        (dropped if out else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# Sessions still on the test database at the end, for the run's summary.
_sessions_ended: list[str] = []


@pytest.fixture(scope="session", autouse=True)
def _no_session_left_on_the_test_database(django_db_setup, django_db_blocker):
    """PostgreSQL cannot drop the test database while another session is
    connected to it, and the run then ends in an error on its last test. A
    thread of a live server or of the Swish simulator that is still running
    (on a loaded machine) may keep one open. Before the database is dropped,
    end each such session; the run's summary names them."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    others = (
        "FROM pg_stat_activity WHERE datname = current_database()"
        " AND pid <> pg_backend_pid()"
    )
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT pid, application_name, state, left(query, 120) {others}"  # noqa: S608
        )
        _sessions_ended.extend(
            f"session {pid} ({application or 'no name'}, {state}), its last"
            f" statement: {query}"
            for pid, application, state, query in cursor.fetchall()
        )
        cursor.execute(f"SELECT pg_terminate_backend(pid) {others}")  # noqa: S608


def pytest_terminal_summary(terminalreporter):
    if _sessions_ended:
        terminalreporter.section("sessions left on the test database, ended")
        for line in _sessions_ended:
            terminalreporter.write_line(line)


@pytest.fixture
def refused_port():
    """A local TCP port where nothing listens, for as long as the test runs.

    The port is chosen by the system and held by a bound socket that never
    listens, so a connection to it is refused and no other process can take
    it meanwhile (no fixed port that someone else may be using)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


@pytest.fixture(autouse=True)
def _fresh_shared_cache():
    """With REDIS_URL set (production's shared cache and rate counters, as
    one of CI's runs uses), the cache outlives each test's rolled-back
    database; empty it after every test so no counter leaks into the next.
    The database cache needs nothing: it is rolled back with the test."""
    yield
    from django.conf import settings

    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        from django.core.cache import cache

        cache.clear()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def post_json(client):
    """POST a JSON body through Django's test client (keeps the session cookie)."""

    def post(path, body, **kwargs):
        return client.post(path, body, content_type="application/json", **kwargs)

    return post


@pytest.fixture(autouse=True)
def _close_swish_connections():
    """The Swish client keeps its connections alive across calls; a kept
    connection to a live server holds a server thread and its database
    session (PostgreSQL then cannot drop the test database), so each test
    ends by closing them."""
    yield
    from ticketshop.payments import swish

    swish.close_session()


@pytest.fixture(autouse=True)
def _forget_scanner_accounts_seen():
    """A process reuses its read of the scanner accounts for a second
    (``scanning.selectors.accounts_seen``); a test's accounts are rolled
    back with it, so the next test starts from a fresh read."""
    yield
    from ticketshop.scanning.selectors import accounts_seen

    accounts_seen.forget()
