from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "ticketshop.shop"
    label = "shop"
