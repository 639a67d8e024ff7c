"""A rush of payments, cancellations and free orders at once: the receipt
series has no gap and no duplicate (SQLite and PostgreSQL).

Hypothesis draws the mix of actions (which order, paid, free, cash, a
partial or whole cancellation); threads run them at once against the real
database, each action in its own durable transaction as in the shop.
"""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
from django.db import close_old_connections, connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.books.helpers import (
    cancel_all,
    cancel_some,
    free_order,
    issued_order,
    paid_order,
)
from tests.factories import event_with_types
from ticketshop.books.models import Receipt, ReceiptKind, ReceiptLine, ReceiptSeries
from ticketshop.orders.models import Order

WORKERS = 6

ACTIONS = st.lists(
    st.sampled_from(["swish", "cash", "free", "swish_then_part", "swish_then_all"]),
    min_size=WORKERS,
    max_size=WORKERS * 2,
)


def _run(action, event, types):
    paid_type, free_type = types
    try:
        if action == "free":
            free_order(event, {free_type: 1})
        elif action == "cash":
            issued_order(event, {paid_type: 2})
        else:
            order = paid_order(event, {paid_type: 3})
            if action == "swish_then_part":
                cancel_some(order, 1)
            elif action == "swish_then_all":
                cancel_all(order)
    finally:
        close_old_connections()
        connection.close()


def _cleanup():
    ReceiptLine.objects.all().delete()
    Receipt.objects.filter(kind=ReceiptKind.CREDIT).delete()
    Receipt.objects.all().delete()
    ReceiptSeries.objects.all().delete()


@pytest.mark.django_db(transaction=True)
@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(actions=ACTIONS)
def test_a_rush_leaves_no_gap_and_no_duplicate(actions):
    _cleanup()
    event, types = event_with_types(seats=1000, prices=("120.50", "0"))
    barrier = Barrier(WORKERS)

    def work(chunk):
        barrier.wait(timeout=60)
        for action in chunk:
            _run(action, event, types)

    chunks = [actions[i::WORKERS] for i in range(WORKERS)]
    with ThreadPoolExecutor(WORKERS) as pool:
        for future in [pool.submit(work, chunk) for chunk in chunks]:
            future.result(timeout=120)

    numbers = sorted(Receipt.objects.values_list("number", flat=True))
    assert numbers == list(range(1, len(numbers) + 1))
    expected_sales = sum(a != "free" for a in actions)
    expected_credits = sum(a.startswith("swish_then") for a in actions)
    assert Receipt.objects.filter(kind=ReceiptKind.SALE).count() == expected_sales
    assert Receipt.objects.filter(kind=ReceiptKind.CREDIT).count() == expected_credits
    # Every paid order with money has exactly one sale receipt.
    for order in Order.objects.filter(event=event, total_price__gt=0, status="PAID"):
        assert order.receipts.filter(kind=ReceiptKind.SALE).count() == 1
    for receipt in Receipt.objects.all():
        lines = list(receipt.lines.all())
        assert receipt.total == sum(line.amount for line in lines)
        assert receipt.vat_total == sum(line.vat for line in lines)
    _cleanup()
