"""Start-up checks of the door-scanning settings."""

from django.conf import settings
from django.core.checks import Error, register
from django.core.exceptions import ImproperlyConfigured

from ticketshop.orders.signing import private_key_from_text


# Tagged "ticketshop": the WSGI start runs it too.
@register("ticketshop")
def check_ticket_signing_key(app_configs, **kwargs):
    configured = getattr(settings, "TICKET_SIGNING_KEY", "")
    if not configured:
        if getattr(settings, "PRODUCTION", False):
            return [
                Error(
                    "TICKET_SIGNING_KEY must be set in production "
                    "(manage.py ticket_signing_key --generate prints one).",
                    id="scanning.E001",
                )
            ]
        return []
    try:
        private_key_from_text(configured)
    except ImproperlyConfigured as error:
        return [Error(str(error), id="scanning.E002")]
    return []
