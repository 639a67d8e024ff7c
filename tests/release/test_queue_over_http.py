"""The fair release over HTTP: joining, status, leaving, the gate, the draw."""

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.release.helpers import queued_event
from ticketshop.release import services
from ticketshop.release.models import Entry

pytestmark = pytest.mark.django_db


def join(client, event, email, tickets=1, **extra):
    return client.post(
        "/api/queue/join/",
        {"chapter_event": event.pk, "email": email, "tickets": tickets, **extra},
        content_type="application/json",
    )


def status(client, event):
    return client.get(f"/api/queue/status/?chapter_event={event.pk}")


def reserve(client, event, ticket_type, count=1):
    return client.post(
        "/reserve_ticket/",
        {
            "chapter_event": event.pk,
            "tickets": [{"ticket_type": ticket_type.pk, "count": count}],
        },
        content_type="application/json",
    )


def after_window(release):
    return release.window_closes_at + timedelta(seconds=1)


def test_join_status_and_leave():
    event, _, _ = queued_event()
    client = Client()
    response = join(client, event, "ada@example.org", 2)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "waiting"
    assert body["place"] is None and body["tickets_wanted"] == 2
    assert body["email_confirmed"] is False

    response = status(client, event)
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=2"
    assert response.json()["public_id"] == body["public_id"]

    response = client.post(
        "/api/queue/leave/",
        {"chapter_event": event.pk},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["state"] == "left"
    # Left is left: no second leave, and no new entry from this session.
    response = client.post(
        "/api/queue/leave/",
        {"chapter_event": event.pk},
        content_type="application/json",
    )
    assert response.json() == "NotInQueue"
    assert join(client, event, "other@example.org").json() == "AlreadyInQueue"


@pytest.mark.parametrize(
    "first, second",
    [
        ("ada@example.org", "ADA@Example.org"),
        ("ada@example.org", "ada+queue@example.org"),
        ("ada.lovelace@gmail.com", "AdaLove.lace+x@googlemail.com"),
    ],
)
def test_a_second_entry_with_the_same_normalised_address_is_refused(first, second):
    event, _, _ = queued_event()
    assert join(Client(), event, first).status_code == 201
    response = join(Client(), event, second)
    assert response.status_code == 409
    assert response.json() == "AlreadyInQueue"
    assert Entry.objects.count() == 1


def test_a_second_entry_from_the_same_session_is_refused():
    event, _, _ = queued_event()
    client = Client()
    assert join(client, event, "ada@example.org").status_code == 201
    response = join(client, event, "grace@example.org")
    assert response.status_code == 409
    assert response.json() == "AlreadyInQueue"


def test_dots_count_outside_gmail():
    event, _, _ = queued_event()
    assert join(Client(), event, "ada.l@example.org").status_code == 201
    assert join(Client(), event, "adal@example.org").status_code == 201


def test_bad_joins_get_the_contract_errors():
    event, _, release = queued_event()
    client = Client()
    assert join(client, event, "not an address").json() == "InvalidRequestData"
    response = join(client, event, "ada@example.org", 9)
    assert (response.status_code, response.json()) == (403, "TooManyTickets")
    response = client.post(
        "/api/queue/join/",
        {"chapter_event": event.pk + 1000, "email": "a@example.org", "tickets": 1},
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (404, "NoQueue")
    release.queue_opens_at = timezone.now() + timedelta(hours=1)
    release.save()
    response = join(client, event, "ada@example.org")
    assert (response.status_code, response.json()) == (403, "QueueNotOpen")
    release.queue_opens_at = timezone.now() - timedelta(hours=1)
    release.bind_swish_number = True
    release.save()
    response = join(client, event, "ada@example.org")
    assert (response.status_code, response.json()) == (400, "SwishNumberRequired")
    response = join(client, event, "ada@example.org", swish_number="070-123 45 67")
    assert response.status_code == 201
    assert Entry.objects.get().swish_number == "46701234567"
    assert status(Client(), event).json() == "NotInQueue"


def test_status_polls_write_nothing():
    event, _, release = queued_event()
    clients = [Client() for _ in range(3)]
    for n, client in enumerate(clients):
        join(client, event, f"buyer{n}@example.org")
    services.draw(release.pk, now=after_window(release))
    services.admit(release.pk, now=after_window(release))
    for client in clients:
        status(client, event)  # warm up: nothing lazily created on later polls
        with CaptureQueriesContext(connection) as queries:
            response = status(client, event)
        assert response.status_code == 200
        writes = [
            q["sql"]
            for q in queries.captured_queries
            if q["sql"].lstrip().split()[0].upper()
            in {"INSERT", "UPDATE", "DELETE", "REPLACE"}
        ]
        assert writes == []
        assert len(queries.captured_queries) <= 2
        assert "Set-Cookie" not in str(response.cookies.output())


def test_a_reservation_in_a_queued_event_needs_an_admission():
    event, ticket_type, release = queued_event(seats=1, max_checking_out=1)
    first, second, stranger = Client(), Client(), Client()
    join(first, event, "first@example.org")
    join(second, event, "second@example.org")
    # Nobody is admitted before the draw.
    for client in (first, second, stranger):
        response = reserve(client, event, ticket_type)
        assert (response.status_code, response.json()) == (403, "NotAdmitted")

    now = after_window(release)
    services.draw(release.pk, now=now)
    services.admit(release.pk, now=now)
    admitted = Entry.objects.get(state="admitted")
    lucky, unlucky = (
        (first, second)
        if admitted.email == "first@example.org"
        else (
            second,
            first,
        )
    )
    assert Entry.objects.get(state="waiting").rank == admitted.rank + 1
    assert reserve(unlucky, event, ticket_type).json() == "NotAdmitted"
    assert reserve(stranger, event, ticket_type).json() == "NotAdmitted"
    # Admitted: it may reserve at once, its address confirmed or not.
    assert reserve(lucky, event, ticket_type, count=2).json() == "TooManyTickets"
    assert reserve(lucky, event, ticket_type).status_code == 201
    admitted.refresh_from_db()
    assert admitted.state == "reserved" and admitted.order is not None
    assert status(lucky, event).json()["state"] == "reserved"


def test_an_event_without_a_queue_sells_as_before():
    from tests.factories import event_with_types

    event, (ticket_type,) = event_with_types(prices=("100",))
    assert reserve(Client(), event, ticket_type).status_code == 201


def test_the_published_draw_matches_the_recipe(tmp_path, capsys):
    event, _, release = queued_event(seats=5)
    for n in range(12):
        assert join(Client(), event, f"buyer{n}@example.org").status_code == 201
    before = Client().get(f"/api/queue/draw/?chapter_event={event.pk}").json()
    assert before["seed"] is None and before["entries"] == []
    commitment = before["seed_commitment"]

    assert services.draw(release.pk, now=after_window(release)) is True
    assert services.draw(release.pk, now=after_window(release)) is False  # once
    published = Client().get(f"/api/queue/draw/?chapter_event={event.pk}").json()
    seed = published["seed"]
    assert hashlib.sha256(bytes.fromhex(seed)).hexdigest() == commitment
    ids = list(Entry.objects.values_list("public_id", flat=True))
    recipe = sorted(
        ids,
        key=lambda i: hmac.new(bytes.fromhex(seed), i.encode(), "sha256").hexdigest(),
    )
    assert published["entries"] == recipe
    ranked = list(Entry.objects.order_by("rank").values_list("public_id", flat=True))
    assert ranked == recipe
    # No personal data in what is published.
    assert "@" not in json.dumps(published)

    path = tmp_path / "draw.json"
    path.write_text(json.dumps(published))
    call_command("verify_draw", str(path))
    assert "OK" in capsys.readouterr().out
    # A changed order (or seed) is caught.
    published["entries"][0], published["entries"][1] = (
        published["entries"][1],
        published["entries"][0],
    )
    path.write_text(json.dumps(published))
    with pytest.raises(SystemExit) as exit_code:
        call_command("verify_draw", str(path))
    assert exit_code.value.code == 1


def test_late_arrivals_queue_behind_the_drawn_in_arrival_order():
    event, _, release = queued_event()
    for n in range(3):
        join(Client(), event, f"early{n}@example.org")
    now = after_window(release)
    services.draw(release.pk, now=now)
    late = []
    for n in range(3):
        entry = services.join(
            event_id=event.pk,
            session_token=f"late{n}",
            email=f"late{n}@example.org",
            tickets_wanted=1,
            now=now + timedelta(seconds=n),
        )
        late.append(entry)
    # Placed by the worker's next round, not by the join (which takes no lock
    # on the release).
    assert [entry.rank for entry in late] == [None, None, None]
    services.admit(release.pk, now=now + timedelta(seconds=3))
    for entry in late:
        entry.refresh_from_db()
    assert [entry.rank for entry in late] == [4, 5, 6]
    published = Client().get(f"/api/queue/draw/?chapter_event={event.pk}").json()
    assert len(published["entries"]) == 3  # the drawn ones only


def test_the_queue_page_without_javascript():
    event, _, release = queued_event()
    client = Client()
    page = client.get(f"/queue/{event.pk}/")
    assert page.status_code == 200
    assert release.seed_commitment in page.content.decode()
    response = client.post(
        f"/queue/{event.pk}/", {"email": "ada@example.org", "tickets": "2"}
    )
    assert response.status_code == 302
    page = client.get(f"/queue/{event.pk}/").content.decode()
    assert 'aria-live="polite"' in page
    assert 'http-equiv="refresh"' in page
    assert "/queue/how-it-works/" in page
    response = client.post(
        f"/queue/{event.pk}/", {"email": "ADA@example.org", "tickets": "1"}
    )
    assert response.status_code == 409
    assert "Att lämna kön går inte att ångra" in page  # said before leaving
    client.post(f"/queue/{event.pk}/", {"action": "leave"})
    assert Entry.objects.get().state == "left"
    page = client.get(f"/queue/{event.pk}/").content.decode()
    assert "du kan inte ställa dig i den här kön igen" in page
    assert 'name="email"' not in page  # no form that would only refuse
    response = client.post(
        f"/queue/{event.pk}/", {"email": "ada@example.org", "tickets": "2"}
    )
    assert response.status_code == 409
