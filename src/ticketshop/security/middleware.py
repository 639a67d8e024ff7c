"""Refuse state-changing requests that another site's page sent.

The session cookie is SameSite=Lax, which stops cookies on cross-*site*
requests but not on requests from another port or subdomain of the same
site, and a page can send text/plain POSTs anywhere without a CORS
preflight. So every POST, PUT, PATCH and DELETE must come from the shop
itself, from an origin in CORS_ALLOWED_ORIGINS or CSRF_TRUSTED_ORIGINS, or
from a client that sends neither Origin nor Sec-Fetch-Site (curl, servers,
hand-held scanners: they carry no buyer's cookie by accident).
"""

import logging
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.http import JsonResponse

from ticketshop.api_errors import CROSS_SITE_REQUEST

logger = logging.getLogger("ticketshop.security")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Sec-Fetch-Site values of a request that no other site started.
OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class CrossSiteRequestMiddleware:
    """Answer 403 "CrossSiteRequest" to unsafe requests from foreign origins."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response
        self.exempt = [
            re.compile(pattern) for pattern in settings.CROSS_SITE_EXEMPT_PATHS
        ]

    def __call__(self, request):
        if request.method in UNSAFE_METHODS and not self._allowed(request):
            logger.warning(
                "cross-site %s %s refused (Origin %r, Sec-Fetch-Site %r)",
                request.method,
                request.path,
                request.headers.get("Origin"),
                request.headers.get("Sec-Fetch-Site"),
            )
            return JsonResponse(CROSS_SITE_REQUEST, status=403, safe=False)
        return self.get_response(request)

    def _allowed(self, request) -> bool:
        if any(pattern.match(request.path_info) for pattern in self.exempt):
            return True
        origin = request.headers.get("Origin")
        if origin is not None:
            return origin.lower() in self._allowed_origins(request)
        fetch_site = request.headers.get("Sec-Fetch-Site")
        return fetch_site is None or fetch_site.lower() in OWN_FETCH_SITES

    @staticmethod
    def _allowed_origins(request) -> set[str]:
        # get_host() checks ALLOWED_HOSTS, so the shop's own origin is one
        # that Django would serve anyway.
        own = f"{request.scheme}://{request.get_host()}".lower()
        return {
            own,
            _origin_of(settings.PUBLIC_BASE_URL),
            *(_origin_of(o) for o in settings.CORS_ALLOWED_ORIGINS),
            *(_origin_of(o) for o in settings.CSRF_TRUSTED_ORIGINS),
        }
