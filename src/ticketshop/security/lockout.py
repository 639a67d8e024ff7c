"""The page django-axes shows when an admin login is locked out."""

import logging
import math

from django.conf import settings
from django.contrib import admin
from django.shortcuts import render

from .clients import client_address

logger = logging.getLogger("ticketshop.security")


def lockout_response(request, original_response=None, credentials=None):
    """Say that logging in is locked, and for how long (429)."""
    minutes = math.ceil(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    username = (credentials or {}).get("username") or request.POST.get("username")
    logger.warning(
        "admin login locked for %r from %s for %d minutes",
        username,
        client_address(request),
        minutes,
    )
    context = {**admin.site.each_context(request), "cooloff_minutes": minutes}
    return render(request, "security/lockout.html", context, status=429)
