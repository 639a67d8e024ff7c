from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "ticketshop.orders"
    label = "orders"
