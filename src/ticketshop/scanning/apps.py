from django.apps import AppConfig


class ScanningConfig(AppConfig):
    name = "ticketshop.scanning"
    label = "scanning"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
