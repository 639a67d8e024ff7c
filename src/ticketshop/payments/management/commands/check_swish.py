"""manage.py check_swish: is this server ready to take Swish payments?

Checks the certificate and key files, a TLS handshake with Swish's API host
verified by the configured CA bundle, and one authenticated read of a payment
request id that does not exist. Prints a line per check; each problem is one
sentence saying what to fix. Exit status 1 on an error, 0 otherwise (a
certificate expiring within 30 days is a warning).
"""

from django.conf import settings
from django.core.management.base import BaseCommand

from ticketshop.payments import certificates
from ticketshop.payments.certificates import ERROR


class Command(BaseCommand):
    help = (
        "Check the Swish certificate and key, Swish's server certificate and "
        "one authenticated call; exit 1 with what to fix."
    )
    # It reports the problems the start-up checks would refuse on, itself.
    requires_system_checks = []

    def handle(self, *args, **options):
        cert, key = certificates.material_paths()
        self.stdout.write(
            f"Swish: {settings.SWISH_ENVIRONMENT}, API {certificates.api_base()}, "
            f"payee {settings.SWISH_PAYEE_ALIAS or '(unset)'}"
        )
        if certificates.uses_certificate():
            self.stdout.write(
                f"certificate {cert or '(unset)'}, key {key or '(unset)'}, "
                f"CA bundle {certificates.ca_bundle()}"
            )
        findings = certificates.check_all()
        for finding in findings:
            line = f"{finding.level}: {finding.text}"
            if finding.level in (ERROR, certificates.WARNING):
                self.stderr.write(line)
            else:
                self.stdout.write(line)
        if any(f.level == ERROR for f in findings):
            raise SystemExit(1)
        self.stdout.write("Swish check passed.")
