from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    name = "ticketshop.backoffice"
    label = "backoffice"
    verbose_name = _("Back office")

    def ready(self) -> None:
        from ticketshop.payments.signals import money_not_accepted

        from . import queue_audit
        from .alerts import on_money_not_accepted

        queue_audit.connect()
        money_not_accepted.connect(
            on_money_not_accepted, dispatch_uid="backoffice.money_not_accepted"
        )
