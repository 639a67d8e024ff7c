"""GET /healthz names the failing part and answers 503 for it."""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from ticketshop.ops.heartbeat import beat
from ticketshop.ops.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db


def test_all_parts_ok_with_a_recent_worker_heartbeat(client):
    beat(worker_id="w1", started_at=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "worker": "ok",
        "swish": "ok",  # the simulator: no certificate to report on
    }
    assert response["Cache-Control"].startswith("max-age=0")


def test_no_worker_for_two_minutes_is_503_worker_stale(client):
    beat(worker_id="w1", started_at=timezone.now())
    WorkerHeartbeat.objects.update(seen_at=timezone.now() - timedelta(seconds=121))
    response = client.get("/healthz/")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["worker"] == "stale"
    assert body["database"] == "ok" and body["cache"] == "ok"


def test_web_scope_ignores_the_worker_for_load_balancers(client):
    response = client.get("/healthz?scope=web")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "swish": "ok",
    }


def test_a_broken_cache_is_503_cache_error(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            # nothing listens on port 1
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    from django.core.cache import caches

    caches._settings = None  # let the new setting take effect
    try:
        del caches._connections.default
    except AttributeError:
        pass
    beat(worker_id="w1", started_at=timezone.now())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["cache"] == "error"
    assert response.json()["database"] == "ok"


def test_a_database_down_is_503_database_error(client, monkeypatch):
    from ticketshop.ops import health

    def unreachable():
        raise connection.Database.OperationalError("connection refused")

    class Broken:
        def exists(self):
            unreachable()

    monkeypatch.setattr(health, "live_workers", lambda: Broken())
    response = client.get("/healthz")
    assert response.status_code == 503
    assert json.loads(response.content)["database"] == "error"


def test_two_servers_checked_at_the_same_instant_both_pass(monkeypatch):
    # A proxy checks its upstreams on one tick, and they share the cache:
    # the other server's check runs between this one's write and read.
    from django.core.cache import caches

    from ticketshop.ops import health

    backend = caches["default"]
    real_get = type(backend).get
    others = []

    def interleaved(self, key, *args, **kwargs):
        if not others:
            others.append(None)
            others[0] = health.check_cache()
        return real_get(self, key, *args, **kwargs)

    monkeypatch.setattr(type(backend), "get", interleaved)
    assert health.check_cache() == "ok"
    assert others == ["ok"]
