"""WSGI entry point (gunicorn ticketshop.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ticketshop.settings")
application = get_wsgi_application()
