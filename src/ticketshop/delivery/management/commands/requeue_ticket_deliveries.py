from django.conf import settings
from django.core.management.base import BaseCommand

from ticketshop.delivery.services import requeue_stalled_deliveries


def describe_mail_transport() -> str:
    """Say where e-mail goes, so that the demo's mail can be found."""
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]
    if backend == "filebased":
        return f"written as files under {settings.EMAIL_FILE_PATH}"
    if backend == "smtp":
        return f"sent over SMTP via {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    return f"handled by {settings.EMAIL_BACKEND}"


class Command(BaseCommand):
    help = (
        "Enqueue again the ticket e-mails whose task a crashed worker lost, "
        "and say where e-mail goes."
    )

    def handle(self, *args, **options):
        count = requeue_stalled_deliveries()
        self.stdout.write(f"Re-enqueued {count} stalled ticket e-mail(s).")
        self.stdout.write(f"Ticket e-mails are {describe_mail_transport()}.")
