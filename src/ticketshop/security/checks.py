"""System checks of the security settings (run by every manage.py command)."""

from django.conf import settings
from django.core.checks import Error, register

from .ratelimit import parse_rate


# Tagged "ticketshop": the WSGI start runs it too.
@register("ticketshop")
def check_rate_limits(app_configs, **kwargs):
    try:
        parse_rate(settings.RESERVATION_RATE_LIMIT)
    except ValueError as exc:
        return [Error(str(exc), id="ticketshop.E001", obj="RESERVATION_RATE_LIMIT")]
    return []
