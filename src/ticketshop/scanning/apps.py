from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ScanningConfig(AppConfig):
    name = "ticketshop.scanning"
    label = "scanning"
    verbose_name = _("Door and scanning")

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from . import checks  # noqa: F401  (registers the system checks)
        from .models import ScannerAccount
        from .selectors import accounts_seen

        # A change to an account in this process is seen by its next scan.
        for signal in (post_save, post_delete):
            signal.connect(accounts_seen.forget, sender=ScannerAccount, weak=False)
        m2m_changed.connect(
            accounts_seen.forget, sender=ScannerAccount.events.through, weak=False
        )
