from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StateMachineConfig(AppConfig):
    name = "ticketshop.statemachine"
    label = "statemachine"
    verbose_name = _("State history")
    default_auto_field = "django.db.models.BigAutoField"
