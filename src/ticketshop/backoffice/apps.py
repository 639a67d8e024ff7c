from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackofficeConfig(AppConfig):
    name = "ticketshop.backoffice"
    label = "backoffice"
    verbose_name = _("Back office")

    def ready(self):
        from . import queue_audit

        queue_audit.connect()
