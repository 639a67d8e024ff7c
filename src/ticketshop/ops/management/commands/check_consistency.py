from django.core.management.base import BaseCommand, CommandError

from ticketshop.ops.consistency import check_all


class Command(BaseCommand):
    help = (
        "Check that seats, tickets, payments and ticket e-mails agree; print "
        "each difference and exit non-zero if there is any."
    )

    def handle(self, *args, **options):
        from ticketshop.orders.models import Order, Ticket

        differences = check_all()
        for difference in differences:
            self.stdout.write(str(difference))
        summary = (
            f"{Order.objects.count()} orders, {Ticket.objects.count()} tickets checked"
        )
        if differences:
            raise CommandError(f"{len(differences)} difference(s) ({summary}).")
        self.stdout.write(f"consistent ({summary})")
