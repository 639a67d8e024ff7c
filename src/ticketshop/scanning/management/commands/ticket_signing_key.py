"""Print a new ticket signing key, or the public key scanners verify with."""

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management.base import BaseCommand

from ticketshop.orders.signing import private_key_text, public_key_text


class Command(BaseCommand):
    help = (
        "Print the public key of the ticket signing key in use, or with "
        "--generate a new private key for TICKET_SIGNING_KEY."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--generate",
            action="store_true",
            help="print a new private key (base64url) for TICKET_SIGNING_KEY",
        )

    def handle(self, *args, generate=False, **options):
        if generate:
            self.stdout.write(private_key_text(Ed25519PrivateKey.generate()))
        else:
            self.stdout.write(public_key_text())
