from django.apps import AppConfig


class ScanningConfig(AppConfig):
    name = "ticketshop.scanning"
    label = "scanning"
