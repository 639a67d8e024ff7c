from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScanningConfig(AppConfig):
    name = "ticketshop.scanning"
    label = "scanning"
    verbose_name = _("Door and scanning")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
