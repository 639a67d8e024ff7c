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


@pytest.mark.django_db(transaction=True)
def test_contended_seat_lock_answers_busy_with_retry_after(post_json, settings):
    settings.SEAT_LOCK_TIMEOUT_SECONDS = 0.3
    event, (standard, _) = event_with_types()
    payload = {
        "chapter_event": event.id,
        "tickets": [{"ticket_type": standard.id, "count": 1}],
    }
    connection.ensure_connection()
    if connection.vendor == "sqlite":
        # SQLite's busy timeout is the seat-lock timeout there.
        connection.connection.execute("PRAGMA busy_timeout = 300")

    with seat_lock_held_elsewhere(event):
        response = post_json("/reserve_ticket/", payload)

    assert response.status_code == 503
    assert response.json() == "Busy"
    assert int(response["Retry-After"]) >= 1
    assert not Order.objects.exists()
    # Once the lock is free again, the same request succeeds.
    assert post_json("/reserve_ticket/", payload).status_code == 201


@pytest.mark.django_db(transaction=True)
def test_sqlite_writer_queue_times_out_as_busy(post_json):
    """On SQLite, writers queue on a lock file first; its timeout is Busy too."""
    if connection.vendor != "sqlite":
        pytest.skip("the lock file queues SQLite writers only")
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
