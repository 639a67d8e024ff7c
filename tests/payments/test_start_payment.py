"""POST /start_payment/: every row of the contract, over real HTTP where
Swish is involved."""

import threading
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from tests.factories import event_with_types
from tests.payments.conftest import Buyer, wait_for
from ticketshop.orders.models import Order, OrderStatus
from ticketshop.payments import views
from ticketshop.payments.models import SwishPayment, SwishStatus
from ticketshop.swish_simulator.models import SimulatedPaymentRequest

pytestmark = pytest.mark.django_db(transaction=True)


def _reserve(post_json, event, ticket_type, count=1):
    response = post_json(
        "/reserve_ticket/",
        {
            "chapter_event": event.id,
            "tickets": [{"ticket_type": ticket_type.id, "count": count}],
        },
    )
    assert response.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"email_address": "not an address"},
        {"email_address": ""},
        {"email_address": 42},
        {"email_address": ["buyer@example.com"]},
        {},
        ["buyer@example.com"],
        "buyer@example.com",
    ],
)
def test_bad_email_or_body_is_invalid_request_data(post_json, body):
    event, (standard, _) = event_with_types()
    _reserve(post_json, event, standard)

    response = post_json("/start_payment/", body)

    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"
    assert not Order.objects.get().payment_pending


def test_malformed_json_is_invalid_request_data(client):
    response = client.post("/start_payment/", b"{", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", ""]
)
def test_json_sent_with_another_content_type_is_invalid_request_data(
    client, post_json, content_type
):
    event, (standard, _) = event_with_types()
    _reserve(post_json, event, standard)

    response = client.post(
        "/start_payment/",
        '{"email_address": "buyer@example.com"}',
        content_type=content_type,
    )

    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"
    assert not Order.objects.get().payment_pending
    assert not SwishPayment.objects.exists()


def test_without_session_cookie_the_session_is_invalid(post_json):
    for path in ("/start_payment/", "/start_payment"):
        response = post_json(path, {"email_address": "buyer@example.com"})
        assert response.status_code == 400
        assert response.json() == "InvalidSession"


def test_the_token_is_answered_and_the_request_matches_the_order(buyer):
    event, (standard, student) = event_with_types(prices=("199", "99.50"))
    event.swish_message = "Fysikalen & Co: dag 1 – 2025 {special}"
    event.save()
    assert buyer.reserve(event, student, 2).status_code == 201

    response = buyer.start_payment("Buyer@Example.com")

    assert response.status_code == 200
    token = response.json()
    sim = SimulatedPaymentRequest.objects.get()
    order = Order.objects.get()
    assert sim.token == token
    assert sim.amount == order.total_price == 199
    # "&" is not among Swish's characters; the dash and braces are mapped.
    assert sim.message == "Fysikalen Co: dag 1 - 2025 (special)"
    assert sim.payee_payment_reference == order.reference
    assert sim.callback_url == f"{buyer.base}/swish/callback/"
    payment = SwishPayment.objects.get()
    assert payment.request_id == sim.id
    assert sim.callback_identifier == payment.callback_identifier
    assert order.payment_pending and order.email == "Buyer@Example.com"
    assert buyer.status()["mail"] == "Buyer@Example.com"


def test_start_payment_twice_answers_the_same_token(buyer, event_and_type):
    event, standard = event_and_type
    first = buyer.reserved_and_started(event, standard)

    second = buyer.start_payment()

    assert second.status_code == 200
    assert second.json() == first
    assert SimulatedPaymentRequest.objects.count() == 1


def test_already_paid_answers_403(buyer, event_and_type):
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)
    buyer.pay(token)
    wait_for(lambda: Order.objects.filter(status=OrderStatus.PAID).exists())

    response = buyer.start_payment()

    assert response.status_code == 403
    assert response.json() == "AlreadyPaidPayment"


def test_expired_hold_with_seats_free_is_renewed_and_paid(buyer, event_and_type):
    event, standard = event_and_type
    assert buyer.reserve(event, standard, 2).status_code == 201
    Order.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    assert buyer.status()["status"] == "FAILED_EXPIRED_RESERVATION"

    response = buyer.start_payment()

    assert response.status_code == 200
    order = Order.objects.get()
    assert order.status == OrderStatus.RESERVED and order.payment_pending
    assert order.expires_at > timezone.now()
    assert buyer.status()["status"] == "RESERVED"


def test_expired_hold_whose_seats_were_taken_answers_408(buyer, swish):
    event, (standard, _) = event_with_types(seats=3)
    assert buyer.reserve(event, standard, 2).status_code == 201
    Order.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    other = Buyer(swish.url)
    assert other.reserve(event, standard, 2).status_code == 201
    other.http.close()

    response = buyer.start_payment()

    assert response.status_code == 408
    assert response.json() == "SessionExpired"
    assert not SimulatedPaymentRequest.objects.exists()
    assert Order.objects.filter(payment_pending=True).count() == 0


def test_declined_payment_can_start_again_while_seats_are_free(buyer, event_and_type):
    event, standard = event_and_type
    token = buyer.reserved_and_started(event, standard)
    buyer.pay(token, "decline")
    wait_for(
        lambda: Order.objects.filter(
            status=OrderStatus.FAILED_EXPIRED_RESERVATION
        ).exists()
    )

    response = buyer.start_payment()

    assert response.status_code == 200 and response.json() != token
    assert Order.objects.get().status == OrderStatus.RESERVED


def test_swish_unreachable_answers_500_keeps_the_hold_and_a_retry_works(
    buyer, event_and_type, settings, refused_port
):
    event, standard = event_and_type
    # A port where nothing listens.
    settings.SWISH_API_URL = f"http://127.0.0.1:{refused_port}/swish-cpcapi/api/"
    assert buyer.reserve(event, standard, 2).status_code == 201

    response = buyer.start_payment()

    assert response.status_code == 500
    assert response.json() == "PaymentStartFailed"
    order = Order.objects.get()
    assert order.status == OrderStatus.RESERVED
    assert buyer.status()["status"] == "RESERVED"
    # The id was stored before the PUT: the retry resends the same one.
    request_id = SwishPayment.objects.get().request_id

    settings.SWISH_API_URL = ""
    retry = buyer.start_payment()

    assert retry.status_code == 200
    assert SimulatedPaymentRequest.objects.get().id == request_id
    assert SwishPayment.objects.get().status == SwishStatus.CREATED


def test_swish_500_on_create_answers_500_and_a_retry_works(
    buyer, event_and_type, settings
):
    event, standard = event_and_type
    settings.SWISH_SIMULATOR_FAIL_CREATE = "500"
    assert buyer.reserve(event, standard).status_code == 201

    assert buyer.start_payment().status_code == 500

    settings.SWISH_SIMULATOR_FAIL_CREATE = ""
    retry = buyer.start_payment()
    assert retry.status_code == 200
    assert SwishPayment.objects.count() == 1


def test_create_that_timed_out_after_creating_is_replaced_on_retry(
    buyer, event_and_type, settings
):
    """The PUT's answer was lost, so its token is unknown: the retry gets
    RP09, cancels that request and creates a new one."""
    event, standard = event_and_type
    settings.SWISH_HTTP_TIMEOUT_SECONDS = 0.5
    settings.SWISH_SIMULATOR_HANG_SECONDS = 1.5
    settings.SWISH_SIMULATOR_FAIL_CREATE = "timeout-after-create"
    assert buyer.reserve(event, standard).status_code == 201

    assert buyer.start_payment().status_code == 500
    # The lost PUT may reach the simulator after the shop gave up on it (a
    # busy machine): the switch goes off only once that PUT has created its
    # request and is hanging, else it would be answered at once and the
    # retry's PUT would be the one refused.
    wait_for(lambda: SimulatedPaymentRequest.objects.exists())
    settings.SWISH_SIMULATOR_FAIL_CREATE = ""
    # The retry talks to a simulator that answers: the short timeout was for
    # the lost answer only.
    settings.SWISH_HTTP_TIMEOUT_SECONDS = 5.0
    retry = buyer.start_payment()

    assert retry.status_code == 200
    lost, replacement = SimulatedPaymentRequest.objects.order_by("date_created")
    assert lost.status == "CANCELLED"
    assert replacement.token == retry.json()
    order = Order.objects.get()
    assert order.status == OrderStatus.RESERVED and order.payment_pending
    buyer.pay(retry.json())
    wait_for(lambda: Order.objects.filter(status=OrderStatus.PAID).exists())


def test_swish_refusal_answers_500_and_releases_nothing(buyer, event_and_type):
    event, standard = event_and_type
    event.swish_message = "ACMT07"  # MSS: payee not enrolled
    event.save()
    assert buyer.reserve(event, standard).status_code == 201

    response = buyer.start_payment()

    assert response.status_code == 500
    assert response.json() == "PaymentStartFailed"
    order = Order.objects.get()
    assert order.status == OrderStatus.RESERVED and not order.payment_pending
    assert SwishPayment.objects.get().status == SwishStatus.REJECTED
    assert SwishPayment.objects.get().error_code == "ACMT07"


def test_double_click_starts_one_request_and_answers_one_token(
    buyer, event_and_type, monkeypatch
):
    """Two clicks in flight at once: both found the order by the cookie they
    carried before either answered. (A request with that cookie arriving
    after the first answered is a copy of an old cookie, and is refused:
    test_session_fixation.py.) Under load the second request could reach
    the server only after the first had answered, so the server waits here
    until both have found their order."""
    event, standard = event_and_type
    assert buyer.reserve(event, standard).status_code == 201
    cookies = buyer.http.cookies.get_dict()
    barrier = threading.Barrier(2)
    both_found = threading.Barrier(2, timeout=20)
    find = views.get_session_order

    def found_by_both(session, **kwargs):
        order = find(session, **kwargs)
        both_found.wait()
        return order

    monkeypatch.setattr(views, "get_session_order", found_by_both)
    answers = []

    def click():
        barrier.wait()
        answers.append(
            requests.post(
                f"{buyer.base}/start_payment/",
                json={"email_address": "buyer@example.com"},
                cookies=cookies,
                timeout=30,
            )
        )

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert [a.status_code for a in answers] == [200, 200]
    assert answers[0].json() == answers[1].json()
    assert SimulatedPaymentRequest.objects.count() == 1
    assert SwishPayment.objects.count() == 1


def test_a_running_payment_keeps_its_first_address(buyer, event_and_type):
    event, standard = event_and_type
    first = buyer.reserved_and_started(event, standard)

    again = buyer.start_payment(email="other@example.com")

    assert (again.status_code, again.json()) == (200, first)
    assert Order.objects.get().email == "buyer@example.com"
    assert buyer.status()["mail"] == "buyer@example.com"
