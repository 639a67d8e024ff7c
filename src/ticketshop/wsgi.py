"""WSGI entry point (gunicorn ticketshop.wsgi).

Before serving, it runs the shop's own system checks (Swish settings,
branding: those registered with the tag ``ticketshop``) and refuses to start
on an error, as a management command would.
"""

import logging
import os

from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketshop.settings")
application = get_wsgi_application()

_messages = run_checks(tags=["ticketshop"])
_errors = [m for m in _messages if m.is_serious()]
if _errors:
    raise ImproperlyConfigured(" ".join(f"{m.msg} ({m.id})" for m in _errors))

# Warnings (e.g. a Swish certificate expiring soon) start the server, logged.
for _message in _messages:
    logging.getLogger("ticketshop.checks").warning("%s (%s)", _message.msg, _message.id)
