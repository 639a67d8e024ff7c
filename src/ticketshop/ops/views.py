import hmac

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from . import metrics

_LOOPBACK = {"127.0.0.1", "::1"}


def _allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    if not token:
        # No token configured: only a scraper on the same machine.
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
