from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "ticketshop.events"
    label = "events"
