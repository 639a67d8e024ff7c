from django.apps import AppConfig


class SwishSimulatorConfig(AppConfig):
    name = "ticketshop.swish_simulator"
    label = "swish_simulator"
    verbose_name = "Swish simulator"
