"""/metrics: counts from the database, per-process Busy answers, a token."""

import re

import pytest
from django.utils import timezone

from tests.delivery.conftest import mark_paid, reserve
from ticketshop.ops.heartbeat import beat
from ticketshop.scanning.models import ScanLog, ScanResult

pytestmark = pytest.mark.django_db(transaction=True)


def sample(text: str, name: str, labels: str = "") -> float:
    pattern = rf"^{re.escape(name)}{re.escape(labels)} (\S+)$"
    match = re.search(pattern, text, re.MULTILINE)
    assert match, f"{name}{labels} not in metrics:\n{text}"
    return float(match.group(1))


def test_metrics_count_reservations_payments_emails_scans(client, settings):
    settings.METRICS_TOKEN = "s3cret-token"
    paid = mark_paid(reserve())
    reserve()
    beat(worker_id="w1", started_at=timezone.now())
    ticket = paid.tickets.first()
    for result in (ScanResult.ADMITTED, ScanResult.ADMITTED, ScanResult.UNKNOWN):
        ScanLog.objects.create(
            scanner_name="door",
            external_id=ticket.external_id,
            use_requested=True,
            result=result,
        )

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token")
    assert response.status_code == 200
    text = response.content.decode()
    assert sample(text, "ticketshop_reservations_total") == 2
    assert sample(text, "ticketshop_orders", '{status="PAID"}') == 1
    assert sample(text, "ticketshop_orders", '{status="RESERVED"}') == 1
    assert sample(text, "ticketshop_ticket_emails_queued") == 1
    assert sample(text, "ticketshop_ticket_emails_sent_total") == 0
    assert sample(text, "ticketshop_scans_total", '{result="ADMITTED"}') == 2
    assert sample(text, "ticketshop_scans_total", '{result="UNKNOWN"}') == 1
    assert sample(text, "ticketshop_workers_alive") == 1


def test_payments_by_outcome_and_sent_emails(client, settings):
    from ticketshop.delivery.models import DeliveryStatus, TicketDelivery
    from ticketshop.payments.models import SwishPayment, SwishStatus

    settings.METRICS_TOKEN = "t0ken-t0ken"
    order = mark_paid(reserve())
    TicketDelivery.objects.filter(order=order).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), times_sent=1
    )
    for i, status in enumerate([SwishStatus.PAID, SwishStatus.DECLINED]):
        SwishPayment.objects.create(
            order=order,
            request_id=f"{i:032x}",
            callback_identifier="x",
            amount=order.total_price,
            status=status,
        )
    text = client.get(
        "/metrics", HTTP_AUTHORIZATION="Bearer t0ken-t0ken"
    ).content.decode()
    assert sample(text, "ticketshop_swish_payments", '{status="PAID"}') == 1
    assert sample(text, "ticketshop_swish_payments", '{status="DECLINED"}') == 1
    assert sample(text, "ticketshop_ticket_emails_sent_total") == 1
    assert sample(text, "ticketshop_ticket_emails", '{status="SENT"}') == 1


def test_busy_answers_are_counted(client, settings, monkeypatch):
    from ticketshop.events.errors import Busy
    from ticketshop.orders import views

    settings.METRICS_TOKEN = "t0ken-t0ken"

    def busy(**kwargs):
        raise Busy(retry_after=2)

    monkeypatch.setattr(views, "reserve_tickets", busy)
    order = reserve()

    def busy_count():
        text = client.get(
            "/metrics", HTTP_AUTHORIZATION="Bearer t0ken-t0ken"
        ).content.decode()
        match = re.search(
            r'^ticketshop_busy_responses_total\{view="reserve_ticket"\} (\S+)$',
            text,
            re.MULTILINE,
        )
        return float(match.group(1)) if match else 0.0

    before = busy_count()
    body = {
        "chapter_event": str(order.event_id),
        "tickets": [
            {"ticket_type": str(order.tickets.first().ticket_type_id), "count": 1}
        ],
    }
    response = client.post("/reserve_ticket/", body, content_type="application/json")
    assert response.status_code == 503 and response.json() == "Busy"
    assert busy_count() == before + 1


def test_metrics_need_the_token(client, settings):
    settings.METRICS_TOKEN = "right-token"
    assert client.get("/metrics").status_code == 403
    assert (
        client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code
        == 403
    )


def test_without_a_token_only_loopback_is_served(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"HTTP_X_FORWARDED_PROTO": "https"},
        {"HTTP_FORWARDED": "for=203.0.113.9"},
        {"HTTP_X_REAL_IP": "203.0.113.9"},
        {"HTTP_VIA": "1.1 caddy"},
    ],
)
def test_without_a_token_a_request_through_a_proxy_on_loopback_is_refused(
    live_server, settings, header
):
    import requests

    settings.METRICS_TOKEN = ""
    headers = {
        k.removeprefix("HTTP_").replace("_", "-").title(): v for k, v in header.items()
    }
    url = f"{live_server.url}/metrics"
    assert requests.get(url, timeout=30).status_code == 200
    assert requests.get(url, headers=headers, timeout=30).status_code == 403


def test_without_a_token_a_configured_proxy_refuses_even_loopback(client, settings):
    settings.METRICS_TOKEN = ""
    settings.TRUSTED_PROXY_COUNT = 1
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403


def test_with_a_token_loopback_needs_it_too(client, settings):
    settings.METRICS_TOKEN = "right-token"
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    ok = client.get(
        "/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION="Bearer right-token"
    )
    assert ok.status_code == 200
