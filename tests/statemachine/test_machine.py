"""The generic state machine: guard, save, history row, describe, actor."""

import pytest
from django.db import transaction
from django.utils import timezone

from tests.factories import event_with_types
from ticketshop.orders import lifecycle
from ticketshop.orders.models import Order
from ticketshop.statemachine.machine import (
    Machine,
    Transition,
    TransitionNotAllowed,
    acting_as,
)
from ticketshop.statemachine.models import StateChange

pytestmark = pytest.mark.django_db(transaction=True)

# A toy machine over the order's status, registered under its own name.
TOY = Machine(
    "toy",
    [
        Transition("settle", ("RESERVED",), "PAID", {"money": "received"}),
        Transition("touch", ("RESERVED", "PAID"), None),
    ],
    states=("RESERVED", "PAID"),
    columns=("money",),
)


def _order():
    event, (ticket_type,) = event_with_types(prices=("100",))
    with transaction.atomic():
        return lifecycle.reserve(
            event_id=event.pk,
            counts={ticket_type.pk: 1},
            prices={ticket_type.pk: ticket_type.price},
            limits={ticket_type.pk: None},
            now=timezone.now(),
        )


def test_check_outside_a_transaction_refuses():
    order = _order()
    with pytest.raises(RuntimeError):
        TOY.check("settle", order)


def test_a_transition_saves_its_target_and_writes_one_history_row():
    order = _order()
    with transaction.atomic(), acting_as("staff:kim"):
        TOY.check("settle", order)
        TOY.save(order, "settle")
    order.refresh_from_db()
    assert order.status == "PAID"
    rows = list(TOY.history(order.pk))
    assert [(r.transition, r.from_state, r.to_state, r.actor) for r in rows] == [
        ("settle", "RESERVED", "PAID", "staff:kim")
    ]


def test_a_refused_transition_writes_nothing():
    order = _order()
    with transaction.atomic():
        TOY.save(order, "settle")
    with pytest.raises(TransitionNotAllowed, match="settle is not allowed"):
        with transaction.atomic():
            TOY.check("settle", order)
            TOY.save(order, "settle")
    assert StateChange.objects.filter(machine="toy", record_id=order.pk).count() == 1


def test_a_rolled_back_transition_leaves_no_history_row():
    order = _order()
    with pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            TOY.save(order, "settle")
            1 / 0  # noqa: B018 - fails inside the transaction
    assert not StateChange.objects.filter(machine="toy").exists()
    assert Order.objects.get(pk=order.pk).status == "RESERVED"


def test_allowed_gives_a_reason():
    order = _order()
    assert TOY.allowed("settle", order)
    verdict = TOY.allowed("settle", order, ok=False, why=": a payment is running")
    assert not verdict and verdict.reason == "a payment is running"
    order.status = "PAID"
    verdict = TOY.allowed("settle", order)
    assert not verdict and "PAID is not one of RESERVED" in verdict.reason


def test_actor_defaults_to_process():
    order = _order()
    with transaction.atomic():
        TOY.save(order, "touch")
    assert TOY.history(order.pk).get().actor == "process"


def test_describe_renders_the_table():
    assert TOY.describe().splitlines() == [
        "| transition | from | to | money |",
        "|---|---|---|---|",
        "| settle | RESERVED | PAID | received |",
        "| touch | any | unchanged | - |",
    ]


def test_unknown_states_are_refused_when_the_table_is_built():
    with pytest.raises(ValueError, match="unknown states"):
        Machine("bad", [Transition("x", ("A",), "Z")], states=("A",))


def test_a_history_row_is_announced_as_the_orms_insert_announces_it():
    """``Machine.record`` writes its row with a statement of its own; the
    ``post_save`` the ORM's insert sent still comes (the back office's queue
    audit listens), with the saved row."""
    from django.db.models.signals import post_save

    order = _order()
    seen = []

    def listen(sender, instance, created, **kwargs):
        seen.append((instance.pk, instance.transition, instance.actor, created))

    post_save.connect(listen, sender=StateChange, dispatch_uid="test.listen")
    try:
        with transaction.atomic(), acting_as("staff:kim"):
            TOY.save(order, "settle")
    finally:
        post_save.disconnect(dispatch_uid="test.listen", sender=StateChange)
    row = StateChange.objects.get(machine="toy", record_id=order.pk)
    assert seen == [(row.pk, "settle", "staff:kim", True)]
    assert row.at is not None and row.from_state == "RESERVED"
