"""A seat lock not granted in time is 503 "Busy", and nothing is written."""

import contextlib
import fcntl
import sqlite3

import psycopg
import pytest
from django.db import connection

from tests.factories import event_with_types
from ticketshop.orders.models import Order


@contextlib.contextmanager
def seat_lock_held_elsewhere(event):
    """Hold the event's seat lock from another database connection."""
    params = connection.settings_dict
    if connection.vendor == "sqlite":
        other = sqlite3.connect(params["NAME"], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()
    else:
        other = psycopg.connect(
            dbname=params["NAME"],
            user=params["USER"] or None,
            password=params["PASSWORD"] or None,
            host=params["HOST"] or None,
            port=params["PORT"] or None,
        )
        try:
            other.execute(
                "SELECT id FROM events_chapterevent WHERE id = %s FOR UPDATE",
                [event.id],
            )
            yield
        finally:
            other.rollback()
            other.close()


@contextlib.contextmanager
def short_sqlite_busy_timeout(milliseconds):
    """On SQLite, whose busy timeout is the seat-lock timeout there, shorten
    it on this thread's (shared) connection, and put it back afterwards."""
    connection.ensure_connection()
    if connection.vendor != "sqlite":
        yield
        return
    raw = connection.connection
    (saved,) = raw.execute("PRAGMA busy_timeout").fetchone()
    raw.execute(f"PRAGMA busy_timeout = {int(milliseconds)}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(saved)}")


@pytest.mark.django_db(transaction=True)
def test_contended_seat_lock_answers_busy_with_retry_after(post_json, settings):
    settings.SEAT_LOCK_TIMEOUT_SECONDS = 0.3
    event, (standard, _) = event_with_types()
    payload = {
        "chapter_event": event.id,
        "tickets": [{"ticket_type": standard.id, "count": 1}],
    }
    with short_sqlite_busy_timeout(300), seat_lock_held_elsewhere(event):
        response = post_json("/reserve_ticket/", payload)

    assert response.status_code == 503
    assert response.json() == "Busy"
    assert int(response["Retry-After"]) >= 1
    assert not Order.objects.exists()
    # Once the lock is free again, the same request succeeds.
    assert post_json("/reserve_ticket/", payload).status_code == 201


@pytest.mark.sqlite_only
@pytest.mark.django_db(transaction=True)
def test_the_shortened_busy_timeout_is_put_back():
    connection.ensure_connection()
    (before,) = connection.connection.execute("PRAGMA busy_timeout").fetchone()
    with short_sqlite_busy_timeout(300):
        (during,) = connection.connection.execute("PRAGMA busy_timeout").fetchone()
    (after,) = connection.connection.execute("PRAGMA busy_timeout").fetchone()
    assert during == 300
    assert after == before != 300


@pytest.mark.sqlite_only  # the lock file queues SQLite writers only
@pytest.mark.django_db(transaction=True)
def test_sqlite_writer_queue_times_out_as_busy(post_json):
    """On SQLite, writers queue on a lock file first; its timeout is Busy too."""
    event, (standard, _) = event_with_types()
    connection.ensure_connection()
    options = connection.settings_dict["OPTIONS"]
    path = f"{connection.settings_dict['NAME']}-seatlock"
    with open(path, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        saved = options["timeout"]
        options["timeout"] = 0.3
        try:
            response = post_json(
                "/reserve_ticket/",
                {
                    "chapter_event": event.id,
                    "tickets": [{"ticket_type": standard.id, "count": 1}],
                },
            )
        finally:
            options["timeout"] = saved
            fcntl.flock(held, fcntl.LOCK_UN)
    assert response.status_code == 503
    assert response.json() == "Busy"
    assert not Order.objects.exists()
