import pytest
from django.contrib.auth import get_user_model

from tests.factories import event_with_types
from ticketshop.orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def organiser_client(client):
    user = get_user_model().objects.create_superuser("org", "", "pw-for-tests-123")
    client.force_login(user)
    return client


def test_event_list_shows_sold_reserved_and_left(organiser_client, post_json, client):
    event, (standard, _) = event_with_types(seats=10)
    post_json(
        "/reserve_ticket/",
        {
            "chapter_event": event.id,
            "tickets": [{"ticket_type": standard.id, "count": 3}],
        },
    )
    response = organiser_client.get("/admin/events/chapterevent/")
    assert response.status_code == 200
    row = response.context["cl"].result_list[0]
    assert (row.sold_count, row.live_count) == (0, 3)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/events/chapterevent/add/",
        "/admin/events/tickettype/",
        "/admin/orders/order/",
        "/admin/orders/order/?status__exact=PAID",
        "/admin/orders/ticket/",
    ],
)
def test_admin_pages_render(organiser_client, path):
    assert organiser_client.get(path).status_code == 200


def test_order_search_finds_by_email_reference_and_ticket_id(
    organiser_client, post_json
):
    event, (standard, _) = event_with_types()
    post_json(
        "/reserve_ticket/",
        {
            "chapter_event": event.id,
            "tickets": [{"ticket_type": standard.id, "count": 1}],
        },
    )
    order = Order.objects.get()
    Order.objects.update(email="kassor@example.org")
    external_id = order.tickets.get().external_id
    for term in ("kassor@example.org", order.reference, external_id):
        response = organiser_client.get("/admin/orders/order/", {"q": term})
        assert list(response.context["cl"].result_list) == [order]
    detail = organiser_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert detail.status_code == 200


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/reserve_ticket" in schema.content
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.parametrize(
    "path", ["/admin/events/chapterevent/add/", "/admin/events/tickettype/add/"]
)
def test_add_forms_offer_the_english_texts(organiser_client, path):
    page = organiser_client.get(path).content.decode()

    assert 'name="title_en"' in page
    assert 'name="description_en"' in page
