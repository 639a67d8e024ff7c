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


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def post_json(client):
    """POST a JSON body through Django's test client (keeps the session cookie)."""

    def post(path, body, **kwargs):
        return client.post(path, body, content_type="application/json", **kwargs)

    return post
