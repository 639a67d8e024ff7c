from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ticketshop.ops"
    label = "ops"
    verbose_name = "Operations"
