from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShopConfig(AppConfig):
    name = "ticketshop.shop"
    label = "shop"
    verbose_name = _("Shop")

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the settings checks)
