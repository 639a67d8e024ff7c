"""The order's history: one StateChange row per transition of its state
machine, written in the transition's transaction, naming who acted."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from tests.admin_actions import confirmed
from tests.backoffice.conftest import issue, previewed
from tests.factories import event_with_types
from ticketshop.orders import lifecycle
from ticketshop.orders.history import TRANSITION_LABELS, order_history
from ticketshop.orders.lifecycle import ORDER, TRANSITIONS, TransitionNotAllowed
from ticketshop.orders.models import Order, OrderStatus, PaymentMethod
from ticketshop.statemachine import machine
from ticketshop.statemachine.machine import MACHINES, acting_as
from ticketshop.statemachine.models import StateChange

pytestmark = pytest.mark.django_db

R, P = OrderStatus.RESERVED, OrderStatus.PAID
EXPIRED, CANCELLED = OrderStatus.FAILED_EXPIRED_RESERVATION, OrderStatus.FAILED_ADMIN


def _reserve(event, ticket_type, count=1, now=None):
    with transaction.atomic():
        return lifecycle.reserve(
            event_id=event.pk,
            counts={ticket_type.pk: count},
            prices={ticket_type.pk: ticket_type.price},
            limits={ticket_type.pk: None},
            now=now or timezone.now(),
        )


def _rows(order):
    return [
        (r.transition, r.from_state, r.to_state, r.actor)
        for r in ORDER.history(order.pk)
    ]


def _paid(event, ticket_type):
    order = _reserve(event, ticket_type)
    now = timezone.now()
    with transaction.atomic():
        lifecycle.start_payment(
            lifecycle.lock_order(order.pk), email="a@example.org", now=now
        )
    with transaction.atomic(), acting_as("swish-callback"):
        lifecycle.pay(
            lifecycle.lock_order(order.pk), reference="R", paid_at=now, now=now
        )
    return order


def test_the_order_machine_is_the_lifecycles_table():
    assert MACHINES["order"] is ORDER
    assert TRANSITIONS is ORDER.transitions
    assert lifecycle.describe_transitions() == ORDER.describe()
    # One catch for every refusal, the order's and any other machine's.
    assert TransitionNotAllowed is machine.TransitionNotAllowed
    # Every transition has its words on the order's pages.
    assert set(TRANSITION_LABELS) == set(TRANSITIONS)


def test_reserve_pay_and_cancel_each_write_one_row():
    event, (standard, _) = event_with_types(prices=("100", "50"))
    with acting_as("buyer"):
        order = _reserve(event, standard)
    assert _rows(order) == [("reserve", "", R, "buyer")]

    now = timezone.now()
    with transaction.atomic(), acting_as("buyer"):
        lifecycle.start_payment(
            lifecycle.lock_order(order.pk), email="a@example.org", now=now
        )
    with transaction.atomic(), acting_as("swish-callback"):
        lifecycle.pay(
            lifecycle.lock_order(order.pk), reference="R", paid_at=now, now=now
        )
    with transaction.atomic(), acting_as("staff:kim"):
        lifecycle.cancel(lifecycle.lock_order(order.pk), now=now)

    assert _rows(order) == [
        ("reserve", "", R, "buyer"),
        # A transition that keeps the state writes a row too.
        ("start_payment", R, R, "buyer"),
        ("pay", R, P, "swish-callback"),
        ("cancel_paid", P, CANCELLED, "staff:kim"),
    ]
    assert Order.objects.get(pk=order.pk).status == CANCELLED


def test_an_unpaid_cancel_and_an_issue_write_their_rows():
    event, (standard, _) = event_with_types()
    order = _reserve(event, standard)
    with transaction.atomic():
        lifecycle.cancel(lifecycle.lock_order(order.pk), now=timezone.now())
    assert _rows(order) == [
        ("reserve", "", R, "process"),
        ("cancel", R, CANCELLED, "process"),
    ]

    with transaction.atomic(), acting_as("staff:kim"):
        guest = lifecycle.issue(
            event_id=event.pk,
            counts={standard.pk: 2},
            prices={standard.pk: Decimal("0")},
            name="Gäst",
            email="g@example.org",
            method=PaymentMethod.COMPLIMENTARY,
        )
    assert _rows(guest) == [("issue", "", P, "staff:kim")]


def test_the_expiry_sweep_writes_one_row_per_expired_order():
    event, (standard, _) = event_with_types(seats=3)
    now = timezone.now()
    lapsed = [_reserve(event, standard, 1, now=now) for _ in range(3)]
    later = now + event.reservation_duration + timedelta(seconds=1)

    with acting_as("buyer"):
        fresh = _reserve(event, standard, 3, now=later)

    for order in lapsed:
        assert _rows(order)[-1] == ("expire", R, EXPIRED, "sweep")
        assert (
            StateChange.objects.filter(record_id=order.pk, transition="expire").count()
            == 1
        )
    assert _rows(fresh) == [("reserve", "", R, "buyer")]
    # Swept once: a second sweep finds nothing and writes nothing.
    with transaction.atomic():
        assert lifecycle.expire_lapsed(event_id=event.pk, now=later) == 0
    assert StateChange.objects.filter(transition="expire").count() == 3


def test_a_refused_transition_writes_no_row():
    event, (standard, _) = event_with_types()
    order = _reserve(event, standard)
    rows = StateChange.objects.count()
    later = timezone.now() + event.reservation_duration + timedelta(seconds=1)
    with transaction.atomic(), pytest.raises(TransitionNotAllowed):
        lifecycle.pay(
            lifecycle.lock_order(order.pk), reference="R", paid_at=later, now=later
        )
    with transaction.atomic(), pytest.raises(TransitionNotAllowed):
        lifecycle.end_payment(lifecycle.lock_order(order.pk))
    assert StateChange.objects.count() == rows
    assert Order.objects.get(pk=order.pk).status == R


def test_a_refusal_says_a_payment_is_running():
    event, (standard, _) = event_with_types()
    order = _reserve(event, standard)
    now = timezone.now()
    with transaction.atomic():
        lifecycle.start_payment(
            lifecycle.lock_order(order.pk), email="a@example.org", now=now
        )
    with transaction.atomic(), pytest.raises(TransitionNotAllowed) as refused:
        lifecycle.cancel(lifecycle.lock_order(order.pk), now=now)
    assert f"order {order.reference} (RESERVED, payment running)" in str(refused.value)
    assert refused.value.name == "cancel"


def test_a_rolled_back_transition_leaves_no_row():
    event, (standard, _) = event_with_types()
    order = _reserve(event, standard)
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        lifecycle.cancel(lifecycle.lock_order(order.pk), now=timezone.now())
        raise ZeroDivisionError
    assert [r[0] for r in _rows(order)] == ["reserve"]


def test_the_history_in_words():
    event, (standard, _) = event_with_types()
    order = _paid(event, standard)
    rows = order_history(order.pk)

    def words():
        return [
            (r.transition, str(r.label), str(r.actor_label), str(r.to_label))
            for r in rows
        ]

    with translation.override("en"):
        assert words() == [
            ("reserve", "Seats reserved", "the shop", "Reserved"),
            ("start_payment", "Payment started", "the shop", "Reserved"),
            ("pay", "Paid", "Swish (callback)", "Paid"),
        ]
    with translation.override("sv"):
        assert words() == [
            ("reserve", "Platser reserverade", "butiken", "Reserverad"),
            ("start_payment", "Betalningen påbörjades", "butiken", "Reserverad"),
            ("pay", "Betald", "Swish (återanrop)", "Betald"),
        ]


# --- Who acted, from a request ----------------------------------------------


def test_a_buyers_reservation_names_the_buyer(post_json):
    event, (standard, _) = event_with_types()
    body = {
        "chapter_event": str(event.pk),
        "tickets": [{"ticket_type": str(standard.pk), "count": 1}],
    }
    assert post_json("/reserve_ticket/", body).status_code == 201
    order = Order.objects.get()
    assert _rows(order) == [("reserve", "", R, "buyer")]


@pytest.fixture
def organiser(db):
    from django.apps import apps
    from django.contrib.auth.models import Group, User

    from tests.backoffice.conftest import _roles

    if not Group.objects.filter(name="organiser").exists():
        _roles.create_roles(apps, None)
    user = User.objects.create_user("kim", "kim@example.org", "pw", is_staff=True)
    user.groups.add(Group.objects.get(name="organiser"))
    return user


def test_a_staff_members_cancel_in_the_back_office_names_them(client, organiser):
    event, (standard, _) = event_with_types(seats=10, prices=("199", "99"))
    with acting_as("staff:kim"):
        order = issue(organiser, event, {standard.pk: 2})
    client.force_login(organiser)
    url = reverse("admin:backoffice_cancel", args=[order.pk])
    tickets = [t.pk for t in order.tickets.all()]
    _, confirmed = previewed(client, url, {"ticket": tickets})
    assert client.post(url, confirmed).status_code == 302
    assert Order.objects.get(pk=order.pk).status == CANCELLED
    assert _rows(order) == [
        ("issue", "", P, "staff:kim"),
        ("cancel_paid", P, CANCELLED, "staff:kim"),
    ]
    # Both pages show it.
    fix = client.get(
        reverse("admin:backoffice_fix", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    html = fix.content.decode()
    assert 'id="order-history"' in html and "Cancelled (paid)" in html
    change = client.get(
        reverse("admin:orders_order_change", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="sv"
    )
    html = change.content.decode()
    assert "Orderhistorik" in html and "Avbokad (betald)" in html and "kim" in html


def test_a_staff_members_admin_action_names_them(client, organiser):
    event, (standard, _) = event_with_types()
    order = _reserve(event, standard)
    client.force_login(organiser)
    url = reverse("admin:orders_order_changelist")
    form = {"action": "cancel_orders", "_selected_action": [order.pk]}
    client.post(url, confirmed(client, url, form))
    assert _rows(order)[-1] == ("cancel", R, CANCELLED, "staff:kim")


# --- PostgreSQL: the seat counter's one statement writes the row -------------


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_counters_one_statement_writes_the_reservations_row():
    event, (standard, _) = event_with_types(seats=5)
    _reserve(event, standard)  # the seat lock's way: the counter is known after
    sent = []

    def record(execute, sql, params, many, context):
        sent.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record), acting_as("buyer"):
        order = lifecycle.reserve_by_counter(
            event_id=event.pk,
            counts={standard.pk: 2},
            prices={standard.pk: standard.price},
            now=timezone.now(),
        )
    assert order is not None
    assert len(sent) == 1 and 'UPDATE "orders_seatcounter"' in sent[0]
    assert _rows(order) == [("reserve", "", R, "buyer")]
    # A refusal by the counter writes no row.
    rows = StateChange.objects.count()
    with pytest.raises(Exception):  # noqa: B017, PT011 - OutOfTickets
        lifecycle.reserve_by_counter(
            event_id=event.pk,
            counts={standard.pk: 5},
            prices={standard.pk: standard.price},
            now=timezone.now(),
        )
    assert StateChange.objects.count() == rows
