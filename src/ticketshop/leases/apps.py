from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LeasesConfig(AppConfig):
    name = "ticketshop.leases"
    label = "leases"
    verbose_name = _("Leases")
