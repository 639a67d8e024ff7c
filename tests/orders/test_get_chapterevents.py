from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tests.factories import (
    ChapterEventFactory,
    TicketOfferFactory,
    TicketTypeFactory,
    event_with_types,
)

pytestmark = pytest.mark.django_db


def test_lists_events_on_sale_ordered_by_start_with_contract_fields(client):
    later, _ = event_with_types(event_at=timezone.now() + timedelta(days=40))
    sooner, _ = event_with_types(event_at=timezone.now() + timedelta(days=10))
    ChapterEventFactory(sales_stop_at=timezone.now() - timedelta(minutes=1))

    response = client.get("/get_chapterevents/")

    assert response.status_code == 200
    events = response.json()["chapter_events"]
    assert [e["id"] for e in events] == [sooner.id, later.id]
    first = events[0]
    for key in (
        "id",
        "title",
        "description",
        "event_at",
        "max_tickets_per_payment",
        "sales_stop_at",
        "ticket_types",
        "tickets_left",
        "sales_start_at",
    ):
        assert key in first
    assert first["tickets_left"] == 100
    assert first["max_tickets_per_payment"] == 8


def test_served_without_slash_and_with_format_json(client):
    event_with_types()
    for path in ("/get_chapterevents", "/get_chapterevents?format=json"):
        response = client.get(path)
        assert response.status_code == 200
        assert len(response.json()["chapter_events"]) == 1


def test_timestamps_carry_the_stockholm_offset(client):
    event_with_types()
    event_at = client.get("/get_chapterevents/").json()["chapter_events"][0]["event_at"]
    assert event_at.endswith("+01:00") or event_at.endswith("+02:00")


def test_hidden_types_never_appear_and_shared_types_appear_once(client):
    shared = TicketTypeFactory(price="199.00")
    hidden = TicketTypeFactory(visible=False)
    cheap = TicketTypeFactory(price="99.50")
    one = ChapterEventFactory()
    two = ChapterEventFactory()
    TicketOfferFactory(event=one, ticket_type=shared)
    TicketOfferFactory(event=one, ticket_type=hidden)
    TicketOfferFactory(event=two, ticket_type=shared)
    TicketOfferFactory(event=two, ticket_type=cheap)

    body = client.get("/get_chapterevents/").json()

    by_id = {e["id"]: e for e in body["chapter_events"]}
    assert by_id[one.id]["ticket_types"] == [shared.id]
    assert sorted(by_id[two.id]["ticket_types"]) == sorted([shared.id, cheap.id])
    assert [t["id"] for t in body["ticket_types"]] == sorted([shared.id, cheap.id])
    prices = {t["id"]: t["price"] for t in body["ticket_types"]}
    assert prices == {shared.id: "199", cheap.id: "99.50"}


def test_event_before_sales_start_is_listed_with_its_start(client, settings):
    # Some years ahead, whenever the suite runs (a fixed year would be past).
    year = datetime.now(UTC).year + 4
    start = datetime(year, 3, 1, 9, 30, 15, 123456, tzinfo=UTC)
    now_open, _ = event_with_types()
    coming, _ = event_with_types(
        sales_start_at=start,
        sales_stop_at=start + timedelta(days=9),
        event_at=start + timedelta(days=10),
    )

    body = client.get("/get_chapterevents/").json()

    by_id = {e["id"]: e for e in body["chapter_events"]}
    assert settings.TIME_ZONE == "Europe/Stockholm"
    # The same instant, in the configured time zone (UTC+1 in March).
    assert by_id[coming.id]["sales_start_at"] == f"{year}-03-01T10:30:15.123456+01:00"
    assert by_id[now_open.id]["sales_start_at"] is None


def test_tickets_left_counts_reservations_and_limits(client, post_json):
    event, (standard, student) = event_with_types(seats=10, limits={1: 4})
    response = post_json(
        "/reserve_ticket/",
        {
            "chapter_event": event.id,
            "tickets": [
                {"ticket_type": standard.id, "count": 3},
                {"ticket_type": student.id, "count": 1},
            ],
        },
    )
    assert response.status_code == 201

    listed = client.get("/get_chapterevents/").json()["chapter_events"][0]
    assert listed["tickets_left"] == 6
    assert listed["ticket_type_limits"] == {str(student.id): 3}


@pytest.mark.parametrize("count", [1, 50])
def test_query_count_does_not_grow_with_events(
    client, django_assert_num_queries, count
):
    for _ in range(count):
        event_with_types(limits={0: 5})
    # events, offers (prefetch), live per event, live per limited type
    with django_assert_num_queries(4):
        response = client.get("/get_chapterevents/")
    assert len(response.json()["chapter_events"]) == count


def test_no_events_is_an_empty_list(client):
    assert client.get("/get_chapterevents/").json() == {
        "chapter_events": [],
        "ticket_types": [],
    }
