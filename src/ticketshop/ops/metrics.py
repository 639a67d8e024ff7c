"""Prometheus metrics (prometheus-client), served at /metrics.

Business counts are read from the database at scrape time, so every app
server reports the same, authoritative figures whichever processes did the
work (the e-mails are sent by workers, which serve no HTTP). Per-process
counters (Busy answers, responses by status) are summed across gunicorn
workers when PROMETHEUS_MULTIPROC_DIR is set (prometheus-client's
multiprocess mode); each app server is then scraped on its own.
"""

import os

from django.db import connection
from django.db.models import Count, Sum
from prometheus_client import (
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from .heartbeat import live_workers

BUSY_RESPONSES = Counter(
    "ticketshop_busy_responses",
    "Requests answered 503 Busy: the seat lock (or the database) was not "
    "granted in time.",
    ["view"],
)
RESPONSES = Counter(
    "ticketshop_http_responses",
    "HTTP responses by status class.",
    ["status_class"],
)


class ShopCollector:
    """Counts from the database, read at each scrape."""

    def collect(self):
        from ticketshop.delivery.models import DeliveryStatus, TicketDelivery
        from ticketshop.orders.models import Order
        from ticketshop.payments.models import SwishPayment
        from ticketshop.payments.selectors import list_stuck_refunds
        from ticketshop.scanning.models import ScanLog

        orders = GaugeMetricFamily(
            "ticketshop_orders", "Orders (reservations) by status.", labels=["status"]
        )
        total_orders = 0
        for row in Order.objects.values("status").annotate(n=Count("id")):
            orders.add_metric([row["status"]], row["n"])
            total_orders += row["n"]
        yield orders
        reservations = CounterMetricFamily(
            "ticketshop_reservations", "Reservations made (orders created)."
        )
        reservations.add_metric([], total_orders)
        yield reservations

        payments = GaugeMetricFamily(
            "ticketshop_swish_payments",
            "Swish payment requests by outcome (CREATED and CREATING are open).",
            labels=["status"],
        )
        for row in SwishPayment.objects.values("status").annotate(n=Count("id")):
            payments.add_metric([row["status"]], row["n"])
        yield payments
        reads = SwishPayment.objects.aggregate(n=Sum("swish_reads"))["n"] or 0
        reads_family = CounterMetricFamily(
            "ticketshop_swish_reads",
            "Payment requests read from Swish (callbacks' reads, scheduled reads, "
            "reconciliation); divided by swish_payments{status=PAID}: reads per "
            "paid order.",
        )
        reads_family.add_metric([], reads)
        yield reads_family

        stuck = GaugeMetricFamily(
            "ticketshop_swish_refunds_stuck",
            "Refunds Swish took (CREATED, VALIDATED, DEBITED) but has not paid "
            "back after SWISH_REFUND_STUCK_HOURS.",
        )
        stuck.add_metric([], list_stuck_refunds().count())
        yield stuck

        emails = GaugeMetricFamily(
            "ticketshop_ticket_emails",
            "Ticket e-mails by delivery status.",
            labels=["status"],
        )
        queued = 0
        for row in TicketDelivery.objects.values("status").annotate(n=Count("id")):
            emails.add_metric([row["status"]], row["n"])
            if row["status"] in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING):
                queued += row["n"]
        yield emails
        queued_family = GaugeMetricFamily(
            "ticketshop_ticket_emails_queued",
            "Ticket e-mails of paid orders not sent yet (pending or retrying).",
        )
        queued_family.add_metric([], queued)
        yield queued_family
        sent = TicketDelivery.objects.aggregate(n=Sum("times_sent"))["n"] or 0
        sent_family = CounterMetricFamily(
            "ticketshop_ticket_emails_sent", "Ticket e-mails sent (resends count)."
        )
        sent_family.add_metric([], sent)
        yield sent_family

        scans = CounterMetricFamily(
            "ticketshop_scans", "Door scans by result.", labels=["result"]
        )
        for row in ScanLog.objects.values("result").annotate(n=Count("id")):
            scans.add_metric([row["result"]], row["n"])
        yield scans

        workers = GaugeMetricFamily(
            "ticketshop_workers_alive", "Task workers seen in the last two minutes."
        )
        workers.add_metric([], live_workers().count())
        yield workers

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
                (waiting,) = cursor.fetchone()
            lock_waits = GaugeMetricFamily(
                "ticketshop_lock_waits",
                "Database sessions waiting for a lock right now (PostgreSQL).",
            )
            lock_waits.add_metric([], waiting)
            yield lock_waits


def render() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry.register(_ProcessCollector(REGISTRY))
    registry.register(ShopCollector())
    return generate_latest(registry)


class _ProcessCollector:
    """This process's own counters (one process, no multiprocess mode)."""

    def __init__(self, source):
        self.source = source

    def collect(self):
        for family in self.source.collect():
            if family.name.startswith("ticketshop_"):
                yield family
