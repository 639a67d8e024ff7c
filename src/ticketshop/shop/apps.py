from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "ticketshop.shop"
    label = "shop"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the settings checks)
