"""A "Yes" commits exactly what its preview showed: the form changed after
the preview, a forged or missing snapshot, or an order changed since, and
nothing is done; an empty selection is an error, not "everything"."""

import pytest
from django.urls import reverse

from tests.factories import event_with_types
from ticketshop.backoffice import services
from ticketshop.backoffice.models import Mailing
from ticketshop.orders.models import OrderStatus, Ticket

from .conftest import issue, previewed

pytestmark = pytest.mark.django_db


def live_count(order) -> int:
    return Ticket.objects.filter(order=order, cancelled_at__isnull=True).count()


def test_a_ticket_unticked_after_the_preview_cancels_nothing(client, organiser, show):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 2}, method="CASH")
    first, second = order.tickets.order_by("pk")
    client.force_login(organiser)
    url = reverse("admin:backoffice_cancel", args=[order.pk])
    _page, confirmed = previewed(client, url, {"ticket": [first.pk, second.pk]})
    # "Yes" pressed with one box unticked since the preview.
    refused = client.post(url, {**confirmed, "ticket": [first.pk]})
    assert refused.status_code == 409
    assert "ändrades efter förhandsvisningen" in refused.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and live_count(order) == 2
    # The page previews the form as it is now; its "Yes" cancels one ticket.
    assert refused.context["preview"]["form"]["tickets"] == [first.pk]
    again = {**confirmed, "ticket": [first.pk], "snapshot": refused.context["snapshot"]}
    assert client.post(url, again).status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and live_count(order) == 1


def test_no_ticket_ticked_is_an_error_not_the_whole_order(client, organiser, show):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 2}, method="CASH")
    client.force_login(organiser)
    url = reverse("admin:backoffice_cancel", args=[order.pk])
    # A snapshot of the whole order, then "Yes" with every box unticked.
    everything = {"ticket": [t.pk for t in order.tickets.all()]}
    _page, confirmed = previewed(client, url, everything)
    confirmed.pop("ticket")
    for form in ({}, confirmed):
        page = client.post(url, form, HTTP_ACCEPT_LANGUAGE="en")
        assert page.status_code == 400
        html = page.content.decode()
        assert "Tick at least one ticket" in html
        assert 'id="confirm-button"' not in html
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID and live_count(order) == 2


@pytest.mark.parametrize("snapshot", ["", "forged", "other-user"])
def test_a_yes_without_its_own_preview_is_refused(client, organiser, show, snapshot):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 1}, method="CASH")
    url = reverse("admin:backoffice_cancel", args=[order.pk])
    form = {"ticket": [order.tickets.get().pk]}
    if snapshot == "other-user":
        from tests.backoffice.conftest import user_in

        client.force_login(user_in("organiser", "other"))
        snapshot = previewed(client, url, form)[1]["snapshot"]
    client.force_login(organiser)
    refused = client.post(url, {**form, "snapshot": snapshot, "confirm": "yes"})
    assert refused.status_code == 409
    order.refresh_from_db()
    assert order.status == OrderStatus.PAID


def test_an_order_changed_since_the_preview_asks_for_a_new_one(client, organiser, show):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 3}, method="CASH")
    first, second, third = order.tickets.order_by("pk")
    client.force_login(organiser)
    url = reverse("admin:backoffice_cancel", args=[order.pk])
    _page, confirmed = previewed(client, url, {"ticket": [first.pk, second.pk]})
    # Another organiser cancels the third ticket meanwhile: the preview's
    # "the others stay valid" is no longer true.
    services.cancel_tickets(user=organiser, order_id=order.pk, ticket_ids=[third.pk])
    refused = client.post(url, confirmed, HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 409
    assert "The order changed since the preview" in refused.content.decode()
    assert live_count(order) == 2


def test_another_night_chosen_after_the_exchange_preview_moves_nothing(
    client, organiser, show
):
    event, (standard, _) = show
    friday, (friday_type,) = event_with_types(seats=5, prices=("199",), title="Fre")
    saturday, (saturday_type,) = event_with_types(seats=5, prices=("199",), title="Lör")
    order = issue(organiser, event, {standard.pk: 1}, method="CASH")
    client.force_login(organiser)
    url = reverse("admin:backoffice_exchange", args=[order.pk])
    _page, confirmed = previewed(
        client, url, {"event": friday.pk, f"type_{standard.pk}": friday_type.pk}
    )
    changed = {**confirmed, "event": saturday.pk}
    changed[f"type_{standard.pk}"] = saturday_type.pk
    refused = client.post(url, changed)
    assert refused.status_code == 409
    order.refresh_from_db()
    assert order.event_id == event.pk
    # Confirmed from its own preview, the order moves to the night chosen.
    again = {**changed, "snapshot": refused.context["snapshot"]}
    assert client.post(url, again).status_code == 302
    order.refresh_from_db()
    assert order.event_id == saturday.pk


def test_a_text_corrected_after_the_mailing_preview_is_not_sent(
    client, organiser, show
):
    event, (standard, _) = show
    issue(organiser, event, {standard.pk: 1}, method="CASH")
    client.force_login(organiser)
    url = reverse("admin:backoffice_mailing")
    form = {"event": [event.pk], "subject": "Ny tid", "body": "Vi börjar 19.00"}
    _page, confirmed = previewed(client, url, form)
    corrected = {**confirmed, "body": "Vi börjar 19.30"}
    refused = client.post(url, corrected)
    assert refused.status_code == 409
    assert not Mailing.objects.exists()
    again = {**corrected, "snapshot": refused.context["snapshot"]}
    assert client.post(url, again).status_code == 302
    assert Mailing.objects.get().body == "Vi börjar 19.30"


def test_a_buyer_added_since_the_mailing_preview_asks_for_a_new_one(
    client, organiser, show
):
    event, (standard, _) = show
    issue(organiser, event, {standard.pk: 1}, method="CASH")
    client.force_login(organiser)
    url = reverse("admin:backoffice_mailing")
    form = {"event": [event.pk], "subject": "Ny tid", "body": "Vi börjar 19.00"}
    _page, confirmed = previewed(client, url, form)
    issue(organiser, event, {standard.pk: 1}, email="ny@example.org")
    refused = client.post(url, confirmed)
    assert refused.status_code == 409
    assert not Mailing.objects.exists()
