import os
import socket
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from ticketshop.payments.services import reconcile_payments
from ticketshop.payments.tasks import reconcile_if_due, schedule_reconciliation
from ticketshop.statemachine.machine import acting_as


class Command(BaseCommand):
    help = (
        "Read every open Swish payment request and refund from Swish and settle "
        "it. Once, every --every seconds, or (--schedule) as a periodic task of "
        "the db_worker."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            type=float,
            default=None,
            help="run forever, a pass every this many seconds; several such "
            "processes (and the workers) share one pass per "
            "SWISH_RECONCILE_EVERY_SECONDS",
        )
        parser.add_argument(
            "--schedule",
            action="store_true",
            help="queue the periodic task the worker runs every "
            "SWISH_RECONCILE_EVERY_SECONDS (idempotent) and exit",
        )

    def handle(self, *args, every=None, schedule=False, **options):
        if schedule:
            queued = schedule_reconciliation()
            self.stdout.write(
                "reconciliation queued" if queued else "reconciliation already queued"
            )
            self.stdout.write(
                f"(runs every {settings.SWISH_RECONCILE_EVERY_SECONDS} s in db_worker)"
            )
            return
        if every is None:
            # History rows of a pass run by hand name the command.
            with acting_as("reconcile_payments"):
                counts = reconcile_payments()
            self.stdout.write(f"reconciled: {counts or 'nothing open'}")
            return
        holder = f"reconcile_payments@{socket.gethostname()}:{os.getpid()}"
        while True:
            ran, counts = reconcile_if_due(holder=holder)
            if ran:
                self.stdout.write(f"reconciled: {counts or 'nothing open'}")
            time.sleep(every)
