from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WaitlistConfig(AppConfig):
    name = "ticketshop.waitlist"
    label = "waitlist"
    verbose_name = _("Waiting list")

    def ready(self) -> None:
        from . import receivers

        receivers.connect()
