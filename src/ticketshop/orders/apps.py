from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "ticketshop.orders"
    label = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        # The process-local listing cache learns of writes from these signals.
        from django.db.models.signals import post_delete, post_save

        from ticketshop.events.models import ChapterEvent, TicketOffer, TicketType

        from .models import Order
        from .selectors import listing_changed, listing_written

        for model, receiver in (
            (ChapterEvent, listing_changed),
            (TicketOffer, listing_changed),
            (TicketType, listing_changed),
            (Order, listing_written),
        ):
            for signal in (post_save, post_delete):
                signal.connect(
                    receiver, sender=model, dispatch_uid=f"listing-{model.__name__}"
                )
