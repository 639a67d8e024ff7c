"""The order keeps the buyer's language; get_chapterevents answers in English."""

import pytest

from tests.factories import event_with_types
from ticketshop.orders.models import Order

pytestmark = pytest.mark.django_db


def reservation(event, types):
    return {
        "chapter_event": str(event.id),
        "tickets": [{"ticket_type": str(types[0].id), "count": 1}],
    }


@pytest.mark.parametrize(
    ("headers", "language"),
    [
        ({"HTTP_ACCEPT_LANGUAGE": "en-GB,en;q=0.9"}, "en"),
        ({"HTTP_ACCEPT_LANGUAGE": "sv-SE,sv;q=0.9,en;q=0.5"}, "sv"),
        ({}, "sv"),
    ],
)
def test_order_remembers_the_request_language(post_json, headers, language):
    event, types = event_with_types()

    response = post_json("/reserve_ticket/", reservation(event, types), **headers)

    assert response.status_code == 201
    assert Order.objects.get().language == language


def test_language_cookie_wins_over_accept_language(client, post_json):
    event, types = event_with_types()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    post_json("/reserve_ticket/", reservation(event, types), HTTP_ACCEPT_LANGUAGE="sv")

    assert Order.objects.get().language == "en"


def english_event():
    event, (standard, student) = event_with_types(
        title="Vårspex", description="Årets spex."
    )
    event.title_en, event.description_en = "Spring revue", "This year's revue."
    event.save()
    standard.title_en = "Standard ticket"
    standard.save()
    return event, standard, student


def test_listing_in_english_has_english_texts_under_the_same_keys(client):
    event, standard, student = english_event()

    english = client.get("/get_chapterevents/", HTTP_ACCEPT_LANGUAGE="en").json()
    swedish = client.get("/get_chapterevents/", HTTP_ACCEPT_LANGUAGE="sv").json()

    (en_event,), (sv_event,) = english["chapter_events"], swedish["chapter_events"]
    assert en_event.keys() == sv_event.keys()
    assert (en_event["title"], en_event["description"]) == (
        "Spring revue",
        "This year's revue.",
    )
    assert (sv_event["title"], sv_event["description"]) == ("Vårspex", "Årets spex.")
    en_types = {t["id"]: t for t in english["ticket_types"]}
    sv_types = {t["id"]: t for t in swedish["ticket_types"]}
    assert en_types[standard.id]["title"] == "Standard ticket"
    assert sv_types[standard.id]["title"] == standard.title
    # No English title: the Swedish one.
    assert en_types[student.id]["title"] == student.title
    assert en_types[standard.id].keys() == sv_types[standard.id].keys()


def test_listing_answers_vary_by_language(client):
    english_event()

    response = client.get("/get_chapterevents/", HTTP_ACCEPT_LANGUAGE="en")

    assert "Accept-Language" in response["Vary"]
