"""A release changed in the Django admin is audited as on the back office's
release page: its settings (``release_settings``) and a pause or resume
(``release_pause`` / ``release_resume``), each once, naming the user; what
the release page refuses, the admin refuses too. Over HTTP."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from ticketshop.backoffice.models import AuditEntry
from ticketshop.release.models import Entry, Release, SaleMode

pytestmark = pytest.mark.django_db

ACTIONS = ("release_settings", "release_pause", "release_resume")


@pytest.fixture
def admin_user():
    return User.objects.create_superuser("boss", "boss@example.org", "pw")


@pytest.fixture
def client(admin_user):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin_user)
    return client


def form(release_fields: dict, **changes) -> dict:
    """The admin's change form as a browser posts it (local times)."""
    values = {**release_fields, **changes}
    data = {}
    for name, value in values.items():
        if hasattr(value, "astimezone"):
            local = timezone.localtime(value)
            data[f"{name}_0"] = local.strftime("%Y-%m-%d")
            data[f"{name}_1"] = local.strftime("%H:%M:%S")
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        else:
            data[name] = str(value)
    return data


def settings_of(release: Release) -> dict:
    return {
        "mode": release.mode,
        "queue_opens_at": release.queue_opens_at,
        "sale_opens_at": release.sale_opens_at,
        "window_closes_at": release.window_closes_at,
        "admit_seconds": release.admit_seconds,
        "max_checking_out": release.max_checking_out,
        "overbook_factor": release.overbook_factor,
        "paused": release.paused,
        "bind_swish_number": release.bind_swish_number,
        "offer_seconds_before_show_day": release.offer_seconds_before_show_day,
        "offer_seconds_on_show_day": release.offer_seconds_on_show_day,
    }


@pytest.fixture
def release(show):
    event, _ = show
    now = timezone.now().replace(microsecond=0)
    return Release.objects.create(
        event=event,
        mode=SaleMode.RANDOM_WINDOW,
        queue_opens_at=now,
        sale_opens_at=now + timedelta(minutes=10),
        window_closes_at=now + timedelta(minutes=12),
    )


def url(release):
    return f"/admin/release/release/{release.pk}/change/"


def audited():
    return list(
        AuditEntry.objects.filter(action__in=ACTIONS)
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_settings_changed_in_the_admin_are_audited(client, admin_user, release):
    response = client.post(url(release), form(settings_of(release), admit_seconds=300))
    assert response.status_code == 302, response.content
    release.refresh_from_db()
    assert release.admit_seconds == 300
    assert audited() == ["release_settings"]
    entry = AuditEntry.objects.get(action="release_settings")
    assert entry.user == admin_user and entry.event_id == release.event_id
    assert (entry.before["admit_seconds"], entry.after["admit_seconds"]) == (600, 300)


def test_pause_and_resume_in_the_admin_are_audited(client, release):
    fields = settings_of(release)
    assert client.post(url(release), form(fields, paused=True)).status_code == 302
    assert Release.objects.get(pk=release.pk).paused
    assert client.post(url(release), form(fields, paused=False)).status_code == 302
    assert not Release.objects.get(pk=release.pk).paused
    # A pause alone is no change of the settings.
    assert audited() == ["release_pause", "release_resume"]
    paused = AuditEntry.objects.get(action="release_pause")
    assert (paused.before["paused"], paused.after["paused"]) == (False, True)


def test_a_release_added_in_the_admin_is_audited(client, show):
    event, _ = show
    now = timezone.now().replace(microsecond=0)
    fields = {
        "mode": SaleMode.RANDOM_WINDOW,
        "queue_opens_at": now,
        "sale_opens_at": now + timedelta(minutes=10),
        "window_closes_at": now + timedelta(minutes=12),
        "admit_seconds": 600,
        "max_checking_out": 100,
        "overbook_factor": Decimal("1.00"),
        "paused": False,
        "bind_swish_number": False,
        "offer_seconds_before_show_day": 21600,
        "offer_seconds_on_show_day": 1200,
    }
    response = client.post(
        "/admin/release/release/add/", {**form(fields), "event": str(event.pk)}
    )
    assert response.status_code == 302, response.content
    release = Release.objects.get(event=event)
    assert audited() == ["release_settings"]
    entry = AuditEntry.objects.get(action="release_settings")
    assert entry.after["seed_commitment"] == release.seed_commitment


def test_the_admin_refuses_what_the_release_page_refuses(client, release):
    fields = settings_of(release)
    # A window closing before the sale opens.
    bad = form(fields, window_closes_at=release.sale_opens_at - timedelta(minutes=1))
    response = client.post(url(release), bad)
    assert response.status_code == 200
    assert "closes after the sale opens" in response.content.decode()
    # Once people joined, the window's close stays as promised.
    Entry.objects.create(
        release=release,
        session_key_hash="x",
        email="ada@example.org",
        email_normalised="ada@example.org",
        tickets_wanted=1,
        joined_at=timezone.now(),
    )
    later = form(fields, window_closes_at=release.window_closes_at + timedelta(hours=1))
    response = client.post(url(release), later)
    assert response.status_code == 200
    assert "can no longer change" in response.content.decode()
    assert audited() == []
    assert Release.objects.get(pk=release.pk).window_closes_at == (
        release.window_closes_at
    )
    # Other settings may still change, and are audited.
    assert (
        client.post(url(release), form(fields, max_checking_out=7)).status_code == 302
    )
    assert audited() == ["release_settings"]
