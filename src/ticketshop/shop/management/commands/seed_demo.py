import json
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from ticketshop.events.importing import import_events
from ticketshop.events.models import ChapterEvent
from ticketshop.scanning.models import ScannerAccount

DEMO_FILE = Path(__file__).resolve().parents[2] / "demo_events.json"
ORGANISER = "organiser"
DEMO_SCANNER = "Demo door"


class Command(BaseCommand):
    help = (
        "Seed the demo: events from demo_events.json and an organiser login. "
        "Idempotent; a new password is printed only when the login is created."
    )

    def handle(self, *args, **options):
        data = json.loads(DEMO_FILE.read_text(encoding="utf-8"))
        titles = [event["title"] for event in data["events"]]
        with transaction.atomic():
            if ChapterEvent.objects.filter(title__in=titles).exists():
                self.stdout.write("Demo events already present.")
            else:
                created = import_events(data=data)
                self.stdout.write(f"Demo events created: {json.dumps(created)}")
            self._organiser()
            self._scanner()

    def _organiser(self) -> None:
        User = get_user_model()
        if User.objects.filter(username=ORGANISER).exists():
            self.stdout.write(
                f"Organiser login '{ORGANISER}' exists (password printed when "
                f"created; reset with: python manage.py changepassword {ORGANISER})."
            )
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(ORGANISER, "", password)
        self.stdout.write(
            self.style.SUCCESS(
                f"Organiser login for /admin/: {ORGANISER} / {password}"
                "  (printed once; keep it)"
            )
        )

    def _scanner(self) -> None:
        """Create the demo's door scanner account (scanning app)."""
        if ScannerAccount.objects.filter(name=DEMO_SCANNER).exists():
            self.stdout.write(
                f"Scanner account '{DEMO_SCANNER}' exists (password printed when "
                "created; set a new one in /admin/scanning/scanneraccount/)."
            )
            return
        password = secrets.token_urlsafe(9)
        account = ScannerAccount(name=DEMO_SCANNER)
        account.set_password(password)
        account.save()
        self.stdout.write(
            self.style.SUCCESS(
                f"Scanner password for /scan/: {password}  (printed once; keep it)"
            )
        )
