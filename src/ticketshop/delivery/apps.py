from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "ticketshop.delivery"
    label = "delivery"
