"""Each organiser action is one use case: the Django admin's action and the
back office's page leave the same audit entry and the same buyer's e-mail,
and the audit entry is written in the transaction of the change (an audit
that cannot be written undoes the change)."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from tests.admin_actions import confirmed
from tests.factories import event_with_types
from tests.payments.conftest import (  # noqa: F401
    buyer,
    event_and_type,
    swish,
    swish_without_worker,
    wait_for,
)
from ticketshop import audit
from ticketshop.backoffice import services
from ticketshop.backoffice.models import AuditEntry, OutgoingMail
from ticketshop.delivery.models import TicketDelivery
from ticketshop.orders.models import Order, OrderStatus, PaymentMethod
from ticketshop.payments.models import SwishPayment, SwishRefund

from .conftest import issue, previewed

pytestmark = pytest.mark.django_db(transaction=True)

CHANGELIST = "admin:orders_order_changelist"


@pytest.fixture
def staff(organiser):
    """The organiser, who may also use the order admin's actions."""
    organiser.is_superuser = True
    organiser.save()
    return organiser


def shape(entry: AuditEntry, order: Order) -> dict:
    """An audit entry with what differs between two orders (reference,
    ticket ids, e-mail, event, refund ids) written as placeholders."""
    words = [
        order.reference,
        order.email,
        *order.tickets.values_list("external_id", flat=True),
    ]
    words += list(
        SwishRefund.objects.filter(payment__order=order).values_list(
            "refund_id", flat=True
        )
    )

    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items() if k != "event"}
        if isinstance(value, list):
            return [plain(v) for v in value]
        text = str(value)
        for word in words:
            text = text.replace(word, "X")
        return text

    return {
        "action": entry.action,
        "username": entry.username,
        "summary": plain(entry.summary),
        "summaries": plain(entry.summaries),
        "before": plain(entry.before),
        "after": plain(entry.after),
    }


def notices(order: Order) -> list[str]:
    """The subjects of the buyer's e-mails queued for the order."""
    return [
        re.sub(re.escape(order.reference), "X", m.subject)
        for m in OutgoingMail.objects.filter(order=order).order_by("pk")
    ]


def admin_action(client, action: str, order: Order):
    changelist = reverse(CHANGELIST)
    chosen = {"action": action, "_selected_action": [order.pk]}
    return client.post(changelist, confirmed(client, changelist, chosen))


def back_office_cancel(client, order: Order):
    url = reverse("admin:backoffice_cancel", args=[order.pk])
    tickets = list(order.tickets.values_list("pk", flat=True))
    _page, form = previewed(client, url, {"ticket": tickets})
    return client.post(url, form)


def paid_by_swish(buyer, event, ticket_type) -> Order:  # noqa: F811
    """A new order of two tickets, paid through the Swish simulator."""
    paid = Order.objects.filter(status=OrderStatus.PAID)
    before = list(paid.values_list("pk", flat=True))
    token = buyer.reserved_and_started(event, ticket_type, count=2)
    assert buyer.pay(token).status_code == 200
    return wait_for(lambda: paid.exclude(pk__in=before).first())


# --- The same entry and e-mail from both surfaces -----------------------------------


def test_cancel_from_the_admin_and_the_back_office_is_the_same(show, staff, client):
    event, (standard, _) = show
    by_admin = issue(staff, event, {standard.pk: 2}, method=PaymentMethod.CASH)
    by_page = issue(staff, event, {standard.pk: 2}, method=PaymentMethod.CASH)
    client.force_login(staff)

    admin_action(client, "cancel_orders", by_admin)
    assert back_office_cancel(client, by_page).status_code == 302

    for order in (by_admin, by_page):
        order.refresh_from_db()
        assert order.status == OrderStatus.FAILED_ADMIN
    first = AuditEntry.objects.get(order=by_admin, action="cancel")
    second = AuditEntry.objects.get(order=by_page, action="cancel")
    assert shape(first, by_admin) == shape(second, by_page)
    assert first.before["status"] == OrderStatus.PAID
    assert first.after["status"] == OrderStatus.FAILED_ADMIN
    assert notices(by_admin) == notices(by_page) != []


def test_swish_refund_from_the_admin_and_the_back_office_is_the_same(
    buyer,  # noqa: F811
    show,
    staff,
    client,
):
    event, (standard, _) = show
    by_admin = paid_by_swish(buyer, event, standard)
    by_page = paid_by_swish(buyer, event, standard)
    client.force_login(staff)

    admin_action(client, "refund_via_swish", by_admin)
    assert back_office_cancel(client, by_page).status_code == 302

    for order in (by_admin, by_page):
        order.refresh_from_db()
        assert order.status == OrderStatus.FAILED_ADMIN
        assert SwishRefund.objects.filter(payment__order=order).count() == 1
    first = AuditEntry.objects.get(order=by_admin, action="cancel")
    second = AuditEntry.objects.get(order=by_page, action="cancel")
    assert shape(first, by_admin) == shape(second, by_page)
    assert len(first.after["refunds"]) == 1
    assert notices(by_admin) == notices(by_page) != []


def test_resend_from_the_admin_and_the_back_office_is_the_same(show, staff, client):
    event, (standard, _) = show
    by_admin = issue(staff, event, {standard.pk: 1})
    by_page = issue(staff, event, {standard.pk: 1})
    client.force_login(staff)

    client.post(
        reverse(CHANGELIST),
        {"action": "resend_tickets_action", "_selected_action": [by_admin.pk]},
    )
    client.post(reverse("admin:backoffice_fix", args=[by_page.pk]), {"do": "resend"})

    first = AuditEntry.objects.get(order=by_admin, action="resend")
    second = AuditEntry.objects.get(order=by_page, action="resend")
    assert shape(first, by_admin) == shape(second, by_page)


@pytest.fixture
def ds24_order(buyer, event_and_type):  # noqa: F811
    event, standard = event_and_type
    event.swish_message = "DS24"
    event.save()
    buyer.reserved_and_started(event, standard, 2)
    wait_for(lambda: SwishPayment.objects.get().error_code == "DS24")
    return Order.objects.get()


@pytest.mark.parametrize(
    ("action", "audited", "status"),
    [
        ("mark_unknown_payment_paid", "settle_paid", OrderStatus.PAID),
        (
            "release_unknown_payment",
            "settle_released",
            OrderStatus.FAILED_EXPIRED_RESERVATION,
        ),
    ],
)
def test_settling_an_unknown_outcome_in_the_admin_is_audited(
    ds24_order, client, action, audited, status
):
    user = User.objects.create_superuser("kim", "kim@example.org", "pw")
    client.force_login(user)

    admin_action(client, action, ds24_order)

    order = Order.objects.get()
    assert order.status == status
    entry = AuditEntry.objects.get(order=order, action=audited)
    assert entry.username == "kim"
    assert entry.before["status"] == OrderStatus.RESERVED
    assert entry.after["status"] == status
    assert order.reference in entry.summary


def test_an_admin_action_asks_the_use_case_what_is_allowed(show, staff, client):
    """A cancelled order is refused on the confirmation page with the
    lifecycle's reason, and nothing is written."""
    event, (standard, _) = show
    order = issue(staff, event, {standard.pk: 1}, method=PaymentMethod.CASH)
    services.cancel_order(user=staff, order_id=order.pk)
    client.force_login(staff)

    page = client.post(
        reverse(CHANGELIST), {"action": "cancel_orders", "_selected_action": [order.pk]}
    )

    assert page.status_code == 200
    assert str(services.cancel_allowed(Order.objects.get(pk=order.pk)).why) in (
        page.content.decode()
    )
    assert AuditEntry.objects.filter(order=order, action="cancel").count() == 1


# --- The audit entry is part of the change -------------------------------------------


@pytest.mark.parametrize("surface", ["use case", "admin"])
def test_cancel_is_undone_when_its_audit_cannot_be_written(
    show, staff, client, monkeypatch, surface
):
    event, (standard, _) = show
    order = issue(staff, event, {standard.pk: 2}, method=PaymentMethod.CASH)
    mails = OutgoingMail.objects.count()

    def refuse(**kwargs):
        raise RuntimeError("the audit log cannot be written")

    monkeypatch.setattr(audit, "record", refuse)
    with pytest.raises(RuntimeError):
        if surface == "admin":
            client.raise_request_exception = True
            client.force_login(staff)
            admin_action(client, "cancel_orders", order)
        else:
            services.cancel_order(user=staff, order_id=order.pk)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert order.tickets.filter(cancelled_at__isnull=True).count() == 2
    assert OutgoingMail.objects.count() == mails


def test_a_swish_refund_is_undone_when_its_audit_cannot_be_written(
    buyer,  # noqa: F811
    show,
    staff,
    monkeypatch,
):
    event, (standard, _) = show
    order = paid_by_swish(buyer, event, standard)

    def refuse(**kwargs):
        raise RuntimeError("the audit log cannot be written")

    monkeypatch.setattr(audit, "record", refuse)
    with pytest.raises(RuntimeError):
        services.refund_via_swish(user=staff, order_id=order.pk)

    order.refresh_from_db()
    assert order.status == OrderStatus.PAID
    assert not SwishRefund.objects.exists()
    assert not OutgoingMail.objects.filter(order=order).exists()


def test_a_resend_is_undone_when_its_audit_cannot_be_written(show, staff, monkeypatch):
    event, (standard, _) = show
    order = issue(staff, event, {standard.pk: 1})
    before = TicketDelivery.objects.values().get(order=order)

    def refuse(**kwargs):
        raise RuntimeError("the audit log cannot be written")

    monkeypatch.setattr(audit, "record", refuse)
    with pytest.raises(RuntimeError):
        services.resend_order(user=staff, order_id=order.pk)

    assert TicketDelivery.objects.values().get(order=order) == before


def test_a_changed_address_is_undone_when_its_audit_cannot_be_written(
    show, staff, monkeypatch
):
    event, (standard, _) = show
    order = issue(staff, event, {standard.pk: 1})

    def refuse(**kwargs):
        raise RuntimeError("the audit log cannot be written")

    monkeypatch.setattr(audit, "record", refuse)
    with pytest.raises(RuntimeError):
        services.change_email(user=staff, order_id=order.pk, email="ny@example.org")

    order.refresh_from_db()
    assert order.email == "asa@example.org"


# --- The exchange preview and the exchange agree ------------------------------------


def test_exchange_preview_counts_what_is_due_at_the_door_as_exchange_does(
    show, staff, client
):
    """An order owing 100 kr at the door moves back to cheaper tickets: the
    difference comes off what it owes there, nothing is paid back; the
    preview says so, and the exchange does it."""
    event, (standard, _) = show
    later, (dear,) = event_with_types(seats=10, prices=("249",), title="Lördag")
    order = issue(staff, event, {standard.pk: 2}, method=PaymentMethod.CASH)
    services.exchange_order(
        user=staff,
        order_id=order.pk,
        event_id=later.pk,
        type_map={standard.pk: dear.pk},
    )
    order.refresh_from_db()
    assert order.due_at_door == Decimal("100")
    client.force_login(staff)
    url = reverse("admin:backoffice_exchange", args=[order.pk])

    page, form = previewed(
        client, url, {"event": event.pk, f"type_{dear.pk}": standard.pk}
    )

    preview = page.context["preview"]
    assert preview["difference"] == "-100.00"
    assert preview["due_at_door"] == "0.00"
    assert preview["owed_back"] == "0.00"
    assert not preview["refund"]
    assert "due at the door" in page.content.decode() or "dörren" in (
        page.content.decode()
    )
    assert client.post(url, form).status_code == 302
    order.refresh_from_db()
    assert order.due_at_door == Decimal("0")
    assert order.event_id == event.pk
    entry = AuditEntry.objects.filter(order=order, action="exchange").latest("pk")
    assert entry.after["difference"] == preview["difference"]


def test_an_exchange_is_undone_when_its_audit_cannot_be_written(
    show, staff, monkeypatch
):
    event, (standard, _) = show
    later, (dear,) = event_with_types(seats=10, prices=("249",), title="Lördag")
    order = issue(staff, event, {standard.pk: 2}, method=PaymentMethod.CASH)
    codes = set(order.tickets.values_list("external_id", flat=True))
    mails = OutgoingMail.objects.count()

    def refuse(**kwargs):
        raise RuntimeError("the audit log cannot be written")

    monkeypatch.setattr(audit, "record", refuse)
    with pytest.raises(RuntimeError):
        services.exchange_order(
            user=staff,
            order_id=order.pk,
            event_id=later.pk,
            type_map={standard.pk: dear.pk},
        )

    order.refresh_from_db()
    assert order.event_id == event.pk
    assert order.due_at_door == Decimal("0")
    live = order.tickets.filter(cancelled_at__isnull=True)
    assert set(live.values_list("external_id", flat=True)) == codes
    assert OutgoingMail.objects.count() == mails
