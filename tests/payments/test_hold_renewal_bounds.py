"""A hold cannot be kept for ever by letting Swish requests end.

Each time Swish ends a request (declined, timed out), start_payment renews
the lapsed hold and opens a new one. That is bounded: at most
HOLD_RENEWAL_LIMIT renewals, never past HOLD_RENEWAL_MINUTES after the
first reservation, and each renewal counts against RESERVATION_RATE_LIMIT.
Past a bound the buyer gets 408 "SessionExpired" (the limit: 429
"TooManyAttempts") and the seats are free.

Over HTTP against the live server and its Swish simulator; the count is in
the order's row.
"""

from datetime import timedelta

from django.utils import timezone

from tests.payments.conftest import wait_for
from ticketshop.orders.models import Order, OrderStatus


def declined(buyer, token: str) -> None:
    buyer.pay(token, "decline")
    wait_for(
        lambda: Order.objects.filter(
            status=OrderStatus.FAILED_EXPIRED_RESERVATION, payment_pending=False
        ).exists()
    )


def test_hold_is_renewed_at_most_the_limit(buyer, event_and_type, settings):
    settings.HOLD_RENEWAL_LIMIT = 3
    event, ticket_type = event_and_type
    token = buyer.reserved_and_started(event, ticket_type)
    for renewal in range(1, 4):
        declined(buyer, token)
        answer = buyer.start_payment()
        assert answer.status_code == 200, (renewal, answer.text)
        token = answer.json()
        assert Order.objects.get().hold_renewals == renewal
    declined(buyer, token)

    answer = buyer.start_payment()

    assert answer.status_code == 408
    assert answer.json() == "SessionExpired"
    order = Order.objects.get()
    assert order.status == OrderStatus.FAILED_EXPIRED_RESERVATION
    assert order.hold_renewals == 3
    assert not order.payment_pending
    assert buyer.status()["status"] == "FAILED_EXPIRED_RESERVATION"


def test_hold_is_not_renewed_past_the_total_time(buyer, event_and_type, settings):
    settings.HOLD_RENEWAL_MINUTES = 45
    event, ticket_type = event_and_type
    assert buyer.reserve(event, ticket_type).status_code == 201
    # Reserved 46 minutes ago, its hold lapsed a minute ago.
    now = timezone.now()
    Order.objects.update(
        created_at=now - timedelta(minutes=46), expires_at=now - timedelta(minutes=1)
    )

    answer = buyer.start_payment()

    assert answer.status_code == 408
    assert answer.json() == "SessionExpired"
    assert Order.objects.get().hold_renewals == 0


def test_renewed_hold_ends_by_the_total_time(buyer, event_and_type, settings):
    settings.HOLD_RENEWAL_MINUTES = 45
    event, ticket_type = event_and_type
    assert buyer.reserve(event, ticket_type).status_code == 201
    now = timezone.now()
    created = now - timedelta(minutes=40)
    Order.objects.update(created_at=created, expires_at=now - timedelta(minutes=1))

    assert buyer.start_payment().status_code == 200

    order = Order.objects.get()
    assert order.hold_renewals == 1
    assert order.expires_at == created + timedelta(minutes=45)


def test_each_renewal_counts_against_the_reservation_limit(
    buyer, event_and_type, settings
):
    settings.HOLD_RENEWAL_LIMIT = 10
    settings.RESERVATION_RATE_LIMIT = "3/h"
    event, ticket_type = event_and_type
    # The reservation counts once; starting its payment does not count.
    token = buyer.reserved_and_started(event, ticket_type)
    for _ in range(2):
        declined(buyer, token)
        answer = buyer.start_payment()
        assert answer.status_code == 200, answer.text
        token = answer.json()
    declined(buyer, token)

    answer = buyer.start_payment()

    assert answer.status_code == 429
    assert answer.json() == "TooManyAttempts"
    assert int(answer.headers["Retry-After"]) >= 1
    assert Order.objects.get().hold_renewals == 2
    # And the same limit refuses a new reservation from this address.
    assert buyer.reserve(event, ticket_type).status_code == 429


def test_repeated_start_of_a_running_payment_is_not_counted(
    buyer, event_and_type, settings
):
    settings.RESERVATION_RATE_LIMIT = "1/h"
    event, ticket_type = event_and_type
    token = buyer.reserved_and_started(event, ticket_type)
    for _ in range(3):
        answer = buyer.start_payment()
        assert answer.status_code == 200
        assert answer.json() == token
    assert Order.objects.get().hold_renewals == 0
