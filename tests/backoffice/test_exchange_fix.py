"""Exchange to another event or type (capacity checked, price difference
settled, old ids void at the door), and find and fix."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.delivery.conftest import run_worker
from tests.factories import TicketOfferFactory, event_with_types
from tests.payments.conftest import buyer, swish, swish_without_worker, wait_for  # noqa: F401
from ticketshop.backoffice import exports, services
from ticketshop.backoffice.models import AuditEntry
from ticketshop.orders.errors import OutOfTickets
from ticketshop.orders.models import Order, OrderStatus, Ticket
from ticketshop.orders.seats import count_live_tickets
from ticketshop.payments.models import SwishRefund
from ticketshop.scanning.credentials import Scanner
from ticketshop.scanning.models import ScanResult
from ticketshop.scanning.services import validate_ticket
from ticketshop.swish_simulator.models import SimulatedRefund

from .conftest import issue, previewed

pytestmark = pytest.mark.django_db(transaction=True)

DOOR = Scanner(account_id=None, name="door", event_ids=None)


def live(event):
    return count_live_tickets(event_ids=[event.pk], now=timezone.now()).get(event.pk, 0)


def test_exchange_to_a_full_event_is_refused_and_changes_nothing(organiser, show):
    event, (standard, _) = show
    other, (other_type,) = event_with_types(seats=2, prices=("199",), title="Fredag")
    issue(organiser, other, {other_type.pk: 2})
    order = issue(organiser, event, {standard.pk: 1})
    ids = list(order.tickets.values_list("external_id", flat=True))
    with pytest.raises(OutOfTickets):
        services.exchange_order(
            user=organiser,
            order_id=order.pk,
            event_id=other.pk,
            type_map={standard.pk: other_type.pk},
        )
    order.refresh_from_db()
    assert order.event_id == event.pk and order.ticket_count == 1
    assert list(order.tickets.values_list("external_id", flat=True)) == ids
    assert Ticket.objects.filter(order=order, cancelled_at__isnull=False).count() == 0
    assert (live(event), live(other)) == (1, 2)
    assert not AuditEntry.objects.filter(action="exchange").exists()


def test_exchange_to_an_event_with_room_moves_seats_and_voids_old_ids(
    organiser, show, mailoutbox
):
    event, (standard, student) = show
    other, (dear,) = event_with_types(seats=5, prices=("249",), title="Fredag")
    TicketOfferFactory(event=other, ticket_type=student)
    order = issue(
        organiser,
        event,
        {standard.pk: 1, student.pk: 1},
        method="CASH",
        prices={standard.pk: Decimal("199"), student.pk: Decimal("99")},
    )
    old_ids = list(order.tickets.values_list("external_id", flat=True))
    run_worker()
    mailoutbox.clear()

    result = services.exchange_order(
        user=organiser,
        order_id=order.pk,
        event_id=other.pk,
        type_map={standard.pk: dear.pk, student.pk: student.pk},
    )
    assert result.difference == Decimal("50")  # 249 + 99 - (199 + 99)
    order.refresh_from_db()
    assert order.event_id == other.pk
    assert order.status == OrderStatus.PAID
    assert order.ticket_count == 2 and order.total_price == Decimal("348")
    assert order.due_at_door == Decimal("50")
    header, rows = exports.attendee_rows(other)
    # Once for the order, on its first row: not 50 per ticket.
    assert [row[9] for row in rows] == [Decimal("50"), ""]
    assert (live(event), live(other)) == (0, 2)
    new_ids = list(
        order.tickets.filter(cancelled_at__isnull=True).values_list(
            "external_id", flat=True
        )
    )
    assert not set(new_ids) & set(old_ids)
    entry = AuditEntry.objects.get(action="exchange")
    assert Decimal(entry.after["difference"]) == 50
    assert "50" in entry.summary
    # The old ids no longer open the door; the new ones do (at the new event).
    old = validate_ticket(scanner=DOOR, external_id=old_ids[0], use_ticket=True)
    assert old.result == ScanResult.NOT_PAID and not old.admitted
    new = validate_ticket(scanner=DOOR, external_id=new_ids[0], use_ticket=True)
    assert new.admitted and new.ticket.event_id == other.pk
    run_worker()
    # The new tickets (with their QR codes), and a notice of the exchange.
    (tickets,) = [m for m in mailoutbox if m.attachments]
    for external_id in new_ids:
        assert external_id in tickets.body
    for external_id in old_ids:
        assert external_id not in tickets.body
    assert len(mailoutbox) == 2


def test_exchange_to_a_cheaper_type_refunds_the_difference_through_swish(
    buyer,  # noqa: F811
    show,
    organiser,
):
    event, (standard, student) = show
    token = buyer.reserved_and_started(event, standard, count=2)
    assert buyer.pay(token).status_code == 200
    order = wait_for(lambda: Order.objects.filter(status=OrderStatus.PAID).first())
    result = services.exchange_order(
        user=organiser,
        order_id=order.pk,
        event_id=event.pk,
        type_map={standard.pk: student.pk},
    )
    assert result.difference == Decimal("-200.00")
    assert SwishRefund.objects.get().amount == Decimal("200.00")
    run_worker()  # sends the refund
    assert SimulatedRefund.objects.get().amount == Decimal("200.00")
    assert live(event) == 2
    # Back to the dearer type: the 200 kr is due at the door, no Swish.
    back = services.exchange_order(
        user=organiser,
        order_id=order.pk,
        event_id=event.pk,
        type_map={student.pk: standard.pk},
    )
    assert back.difference == Decimal("200.00") and back.refunds == []
    order.refresh_from_db()
    assert order.due_at_door == Decimal("200.00")
    assert SwishRefund.objects.count() == 1
    # And cheaper again: what was due goes first; nothing more is refunded.
    services.exchange_order(
        user=organiser,
        order_id=order.pk,
        event_id=event.pk,
        type_map={standard.pk: student.pk},
    )
    order.refresh_from_db()
    assert order.due_at_door == 0 and order.total_price == Decimal("198.00")
    assert SwishRefund.objects.count() == 1


def test_find_by_each_key_and_correct_the_email_logged_and_resent(
    client, organiser, show, mailoutbox
):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 1}, email="fel@exmaple.org")
    ticket = order.tickets.get()
    run_worker()
    client.force_login(organiser)
    find = reverse("admin:backoffice_find")
    for query in ["fel@exmaple", "Åsa", order.reference, ticket.external_id]:
        page = client.get(find, {"q": query})
        assert order.reference in page.content.decode(), query
    assert order.reference not in client.get(find, {"q": "nobody"}).content.decode()

    fix = reverse("admin:backoffice_fix", args=[order.pk])
    assert client.post(fix, {"email": "not an address"}).status_code == 400
    assert client.post(fix, {"email": "ratt@example.org"}).status_code == 302
    order.refresh_from_db()
    assert order.email == "ratt@example.org"
    entry = AuditEntry.objects.get(action="change_email")
    assert entry.before == {"email": "fel@exmaple.org"}
    assert entry.after == {"email": "ratt@example.org"}
    run_worker()
    assert [m.to for m in mailoutbox] == [["fel@exmaple.org"], ["ratt@example.org"]]


def test_exchange_page_previews_the_difference_and_refuses_a_full_event(
    client, organiser, show
):
    event, (standard, _) = show
    full, (full_type,) = event_with_types(seats=1, prices=("299",), title="Lördag")
    issue(organiser, full, {full_type.pk: 1})
    order = issue(organiser, event, {standard.pk: 1}, method="CASH")
    client.force_login(organiser)
    url = reverse("admin:backoffice_exchange", args=[order.pk])
    form = {"event": full.pk, f"type_{standard.pk}": full_type.pk}
    preview, confirmed = previewed(client, url, form)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "199.00 kr → 299.00 kr" in html or "199,00 kr → 299,00 kr" in html
    assert "100" in html
    refused = client.post(url, confirmed)
    assert refused.status_code == 409
    assert "Får inte plats" in refused.content.decode()
    order.refresh_from_db()
    assert order.event_id == event.pk


def test_a_retried_refund_keeps_what_is_due_at_the_door(
    buyer,  # noqa: F811
    show,
    organiser,
    settings,
):
    event, (standard, _) = show
    dear = TicketOfferFactory(
        event=event, ticket_type__price=Decimal("249")
    ).ticket_type
    token = buyer.reserved_and_started(event, standard, count=2)
    assert buyer.pay(token).status_code == 200
    order = wait_for(lambda: Order.objects.filter(status=OrderStatus.PAID).first())
    services.exchange_order(
        user=organiser,
        order_id=order.pk,
        event_id=event.pk,
        type_map={standard.pk: dear.pk},
    )
    order.refresh_from_db()
    assert (order.total_price, order.due_at_door) == (Decimal("498"), Decimal("100"))
    # One ticket cancelled; its refund fails at the bank (ERROR FF10).
    settings.SWISH_SIMULATOR_FAIL_REFUND = "FF10"
    ticket = order.tickets.filter(cancelled_at__isnull=True).first()
    services.cancel_tickets(user=organiser, order_id=order.pk, ticket_ids=[ticket.pk])
    run_worker()  # sends the refund
    settings.SWISH_SIMULATOR_FAIL_REFUND = ""
    lost = SwishRefund.objects.get()
    assert lost.amount == Decimal("249.00")
    from ticketshop.payments.services import refresh_refund

    refresh_refund(refund=lost, now=timezone.now() + timedelta(hours=1))
    lost.refresh_from_db()
    assert lost.status == "ERROR"
    services.retry_refund(user=organiser, order_id=order.pk)
    run_worker()  # sends the retry
    # Swish got 398; the buyer keeps one 249 ticket, 100 of it due at the door.
    assert SimulatedRefund.objects.exclude(status="ERROR").get().amount == Decimal(
        "249.00"
    )
