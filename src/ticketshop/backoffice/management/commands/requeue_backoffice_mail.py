from django.core.management.base import BaseCommand

from ticketshop.backoffice.outbox import requeue_stalled_mail


class Command(BaseCommand):
    help = "Enqueue again the back office's e-mails whose task a dead worker lost."

    def handle(self, *args, **options):
        count = requeue_stalled_mail()
        self.stdout.write(f"Re-enqueued {count} back-office e-mails.")
