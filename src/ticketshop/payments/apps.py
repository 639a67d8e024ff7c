from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaymentsConfig(AppConfig):
    name = "ticketshop.payments"
    label = "payments"
    verbose_name = _("Payments")

    def ready(self) -> None:
        from ticketshop.orders.signals import pending_order_superseded

        from . import checks  # noqa: F401  (registers the Swish settings checks)
        from .receivers import on_pending_order_superseded

        pending_order_superseded.connect(
            on_pending_order_superseded, dispatch_uid="payments.cancel_superseded"
        )
