from django.core.management.base import BaseCommand, CommandError

from ticketshop.ops.consistency import check_all, list_money_not_accepted


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
        # Not a difference (each is flagged for an organiser), but counted:
        # money Swish took that no order took and no refund covers yet.
        waiting = list(list_money_not_accepted())
        if waiting:
            self.stdout.write(
                f"money not accepted, awaiting a refund: {len(waiting)} "
                "payment(s): "
                + ", ".join(
                    f"order {p.order.reference} ({p.order.status}) {p.amount} kr"
                    for p in waiting
                )
            )
        summary = (
            f"{Order.objects.count()} orders, {Ticket.objects.count()} tickets checked"
        )
        if differences:
            raise CommandError(f"{len(differences)} difference(s) ({summary}).")
        self.stdout.write(f"consistent ({summary})")
