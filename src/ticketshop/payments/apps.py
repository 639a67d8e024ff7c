from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "ticketshop.payments"
    label = "payments"
