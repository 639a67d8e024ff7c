import hmac

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from . import metrics

_LOOPBACK = {"127.0.0.1", "::1"}
# Headers a reverse proxy adds: their presence means the loopback address is
# the proxy's, not the scraper's (Caddy on the same host adds the first three).
_PROXY_HEADERS = (
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_REAL_IP",
    "HTTP_FORWARDED",
    "HTTP_VIA",
)


def _allowed(request) -> bool:
    """A token is required whenever METRICS_TOKEN is set. Without one, only a
    client straight on loopback is served: never behind a configured proxy
    (TRUSTED_PROXY_COUNT) nor with any forwarding header, since every request
    through a proxy on the same host comes from loopback."""
    token = settings.METRICS_TOKEN
    if not token:
        if settings.TRUSTED_PROXY_COUNT > 0:
            return False
        if any(request.META.get(name) for name in _PROXY_HEADERS):
            return False
        return request.META.get("REMOTE_ADDR") in _LOOPBACK
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@never_cache
@require_GET
def metrics_view(request):
    """Prometheus text format; a bearer token (METRICS_TOKEN) or loopback only."""
    if not _allowed(request):
        return HttpResponse("Forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(metrics.render(), content_type=CONTENT_TYPE_LATEST)
