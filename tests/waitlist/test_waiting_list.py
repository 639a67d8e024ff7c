"""The waiting list over HTTP: joining, seats coming back offered down the
list, taking all or fewer, declining, leaving, an offer lapsing."""

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from ticketshop.backoffice.models import OutgoingMail
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.orders.signals import seats_came_back
from ticketshop.release.models import Entry, EntryState
from ticketshop.waitlist import services
from ticketshop.waitlist.models import Offer

from .conftest import cancel, join, run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def offers(state=None):
    queryset = Offer.objects.order_by("pk")
    return list(queryset.filter(state=state) if state else queryset)


def test_joining_a_sold_out_event_and_refusals(sold_out):
    event, types, _ = sold_out
    first, second = Client(), Client()
    answer = join(first, event, "Anna.Svensson+show@gmail.com", 2)
    assert answer.status_code == 201
    assert answer.json()["position"] == 1
    # The same session again, or the same address normalised: refused.
    assert join(first, event, "other@example.org", 1).json() == "AlreadyOnWaitingList"
    again = join(second, event, "annasvensson@gmail.com", 1)
    assert (again.status_code, again.json()) == (409, "AlreadyOnWaitingList")
    too_many = join(second, event, "b@example.org", event.max_tickets_per_payment + 1)
    assert too_many.status_code == 400, too_many.content
    assert too_many.json()["error"] == "InvalidTicketCount"
    assert join(second, event, "b@example.org", 1).json()["position"] == 2
    assert Entry.objects.filter(state=EntryState.SOLD_OUT_WAITING).count() == 2


def test_an_event_with_seats_left_has_no_waiting_list(sold_out):
    event, types, orders = sold_out
    cancel(orders[0])
    answer = join(Client(), event, "a@example.org", 1)
    assert (answer.status_code, answer.json()) == (409, "NotSoldOut")


def test_seats_came_back_is_sent_after_commit_only_where_seats_were_freed(sold_out):
    event, types, orders = sold_out
    heard = []

    def listener(sender, *, event_id, **kwargs):
        heard.append(event_id)

    seats_came_back.connect(listener)
    try:
        cancel(orders[0])
    finally:
        seats_came_back.disconnect(listener)
    assert heard == [event.pk]


def test_a_cancelled_hold_is_offered_to_the_first_on_the_list_once(sold_out):
    event, types, orders = sold_out
    anna, bo = Client(), Client()
    join(anna, event, "anna@example.org", 2)
    join(bo, event, "bo@example.org", 1)
    cancel(orders[0])
    run_worker()

    [offer] = offers()
    assert offer.entry.email == "anna@example.org"
    assert offer.seats == 2 and offer.state == "offered"
    # The seats are held by a real reservation until the offer expires.
    hold_order = Order.objects.get(pk=offer.hold_id)
    assert hold_order.status == OrderStatus.RESERVED
    assert hold_order.expires_at == offer.expires_at
    assert offer.expires_at - offer.offered_at == timedelta(
        seconds=event.release.offer_seconds_before_show_day
    )
    mail = OutgoingMail.objects.get(key=f"waitlist-offer:{offer.pk}")
    assert mail.recipient == "anna@example.org"
    assert f"/waitlist/offer/{offer.token}/" in mail.body
    # Another pass (a second task, the periodic pass) offers nothing more.
    assert services.offer_seats(event_id=event.pk) == []
    assert services.offer_everywhere() == 0
    assert len(offers()) == 1


def test_taking_fewer_passes_the_rest_on(sold_out):
    event, types, orders = sold_out
    anna, bo = Client(), Client()
    join(anna, event, "anna@example.org", 2)
    join(bo, event, "bo@example.org", 1)
    cancel(orders[0])
    run_worker()
    [offer] = offers()

    page = anna.get(f"/waitlist/offer/{offer.token}/")
    assert page.status_code == 200
    assert page["Cache-Control"] == "private, no-store"
    answer = anna.post(
        f"/waitlist/offer/{offer.token}/",
        {"action": "take", f"type_{types[1].pk}": "1"},
    )
    assert answer.status_code == 302 and answer["Location"] == "/pay/"
    offer.refresh_from_db()
    assert (offer.state, offer.seats_taken) == ("taken", 1)
    order = Order.objects.get(pk=offer.order_id)
    assert order.status == OrderStatus.RESERVED and order.ticket_count == 1
    assert Order.objects.get(pk=offer.hold_id).status != OrderStatus.RESERVED
    # The buyer's session holds the new order: the usual status answers it.
    status = anna.get("/session_payment_status")
    assert status.status_code == 200, status.content

    run_worker()  # the seat left over goes to Bo
    taken, bos = offers()
    assert bos.entry.email == "bo@example.org" and bos.seats == 1
    # Taking it twice: the second answer says it is no longer open.
    again = anna.post(
        f"/waitlist/offer/{offer.token}/",
        {"action": "take", f"type_{types[0].pk}": "1"},
    )
    assert again.status_code == 410
    assert Order.objects.filter(event=event, status=OrderStatus.RESERVED).count() == 3


def test_taking_more_than_offered_is_refused_and_the_offer_stays(sold_out):
    event, types, orders = sold_out
    anna = Client()
    join(anna, event, "anna@example.org", 1)
    cancel(orders[0])
    run_worker()
    [offer] = offers()
    assert offer.seats == 1
    answer = anna.post(
        f"/api/waitlist/offer/{offer.token}/",
        {"action": "take", "tickets": {str(types[0].pk): 2}},
        content_type="application/json",
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": "InvalidTicketCount", "maximum": 1}
    offer.refresh_from_db()
    assert offer.state == "offered" and offer.claimed_until is None
    taken = anna.post(
        f"/api/waitlist/offer/{offer.token}/",
        {"action": "take", "tickets": {str(types[0].pk): 1}},
        content_type="application/json",
    )
    assert taken.status_code == 200 and taken.json()["state"] == "taken"


def test_declining_offers_the_seats_to_the_next_and_keeps_the_place(sold_out):
    event, types, orders = sold_out
    anna, bo = Client(), Client()
    join(anna, event, "anna@example.org", 2)
    join(bo, event, "bo@example.org", 2)
    cancel(orders[0])
    run_worker()
    [offer] = offers()
    answer = anna.post(f"/waitlist/offer/{offer.token}/", {"action": "decline"})
    assert answer.status_code == 200
    run_worker()
    declined, bos = offers()
    assert declined.state == "declined" and bos.entry.email == "bo@example.org"
    assert Entry.objects.get(email="anna@example.org").state == "sold_out_waiting"
    # Bo leaves: the seats go back to Anna, behind everyone not yet offered.
    left = bo.post(
        f"/api/waitlist/offer/{bos.token}/",
        {"action": "leave"},
        content_type="application/json",
    )
    assert left.status_code == 200 and left.json()["state"] == "declined"
    assert Entry.objects.get(email="bo@example.org").state == EntryState.LEFT
    run_worker()
    assert offers()[-1].entry.email == "anna@example.org"
    assert offers()[-1].state == "offered"


def test_an_offer_not_taken_lapses_and_passes_on(sold_out):
    event, types, orders = sold_out
    join(Client(), event, "anna@example.org", 2)
    join(Client(), event, "bo@example.org", 2)
    cancel(orders[0])
    run_worker()
    [offer] = offers()
    later = offer.expires_at + timedelta(seconds=1)
    assert services.offer_everywhere(now=later) == 1
    lapsed, bos = offers()
    assert lapsed.state == "lapsed" and bos.entry.email == "bo@example.org"
    page = Client(headers={"Accept-Language": "en"}).get(
        f"/waitlist/offer/{lapsed.token}/"
    )
    assert b"no longer open" in page.content
    assert b'value="take"' not in page.content
    swedish = Client(headers={"Accept-Language": "sv"}).get(
        f"/waitlist/offer/{lapsed.token}/"
    )
    assert "Erbjudandet gäller inte längre" in swedish.content.decode()
    # An entry whose offer lapsed is not offered again.
    assert services.offer_everywhere(now=bos.expires_at + timedelta(seconds=1)) == 0


def test_offers_hold_hours_before_the_show_day_and_minutes_on_it(sold_out):
    # The clock is pinned: the show day is the event's local date, so a test
    # on the real clock would depend on the hour it runs at.
    event, types, orders = sold_out
    local = timezone.get_current_timezone()
    show_date = timezone.localdate() + timedelta(days=2)
    event.event_at = datetime.combine(show_date, time(20, 0), tzinfo=local)
    event.sales_stop_at = event.event_at - timedelta(minutes=10)
    event.save()
    # The second hold lasts past the pinned clock, so one seat at a time frees.
    Order.objects.filter(pk=orders[1].pk).update(expires_at=event.sales_stop_at)
    join(Client(), event, "anna@example.org", 2)
    join(Client(), event, "bo@example.org", 2)
    join(Client(), event, "carl@example.org", 2)
    cancel(orders[0])
    release = event.release
    day_before = datetime.combine(
        show_date - timedelta(days=1), time(12, 0), tzinfo=local
    )
    assert services.offer_everywhere(now=day_before) == 1
    [annas] = offers()
    assert annas.entry.email == "anna@example.org"
    assert annas.expires_at - annas.offered_at == timedelta(
        seconds=release.offer_seconds_before_show_day
    )
    # Anna lets it lapse; on the show day Bo gets minutes, not hours.
    on_the_day = event.event_at - timedelta(hours=1)
    assert services.offer_everywhere(now=on_the_day) == 1
    lapsed, bos = offers()
    assert lapsed.state == "lapsed" and bos.entry.email == "bo@example.org"
    assert bos.expires_at - bos.offered_at == timedelta(
        seconds=release.offer_seconds_on_show_day
    )
    # Never past the end of sales: five minutes before it, five minutes.
    late = event.sales_stop_at - timedelta(minutes=5)
    assert services.offer_everywhere(now=late) == 1
    carls = offers()[-1]
    assert carls.entry.email == "carl@example.org"
    assert carls.expires_at == event.sales_stop_at


def test_an_organiser_adding_seats_offers_them(sold_out):
    event, types, orders = sold_out
    join(Client(), event, "anna@example.org", 3)
    event.seats = 6
    event.save()
    run_worker()
    [offer] = offers()
    assert offer.seats == 2


def test_no_task_is_queued_for_an_event_without_a_waiting_list(sold_out):
    from django_tasks_db.models import DBTaskResult

    event, types, orders = sold_out
    before = DBTaskResult.objects.count()
    cancel(orders[0])
    assert DBTaskResult.objects.count() == before
