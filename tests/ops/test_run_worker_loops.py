"""run_worker's loops outlast a database that goes away (a restart, a
failover): the loop starts again instead of ending the worker. The whole
worker against a real restart: tests/faults/test_faults.py."""

import threading

import pytest
from django.db import OperationalError

from ticketshop.ops.management.commands import run_worker


@pytest.fixture(autouse=True)
def no_wait(monkeypatch):
    monkeypatch.setattr(run_worker, "DATABASE_RETRY_SECONDS", 0)


def test_a_loop_that_lost_the_database_starts_again(caplog):
    calls = []

    def run():
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("the database system is shutting down")

    run_worker._outlasting_the_database("db_worker", run, stop=threading.Event())
    assert len(calls) == 3
    assert caplog.text.count("db_worker lost the database; starting again") == 2


def test_a_loop_told_to_stop_does_not_start_again():
    calls = []
    stop = threading.Event()

    def run():
        calls.append(1)
        stop.set()
        raise OperationalError("gone")

    run_worker._outlasting_the_database("db_worker", run, stop=stop)
    assert calls == [1]


def test_any_other_error_ends_the_loop_logged(caplog):
    def run():
        raise ValueError("a bug")

    with pytest.raises(ValueError):
        run_worker._outlasting_the_database("reads", run, stop=threading.Event())
    assert "reads stopped" in caplog.text


def test_a_tick_that_fails_is_tried_again_next_tick(caplog):
    calls = []
    stop = threading.Event()

    def step():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("gone")
        stop.set()

    run_worker._every("worker upkeep", step, seconds=lambda: 0, stop=stop)
    assert len(calls) == 2
    assert "worker upkeep failed; trying again" in caplog.text
