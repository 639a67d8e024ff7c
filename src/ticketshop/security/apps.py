from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "ticketshop.security"
    label = "security"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the system checks)
