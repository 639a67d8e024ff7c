"""Request ids: one per request, in every log line and the X-Request-ID header.

A proxy's X-Request-ID is kept (so its access log and ours match) when it
looks like an id; otherwise a new one is made.
"""

import logging
import re
import uuid

from .logcontext import request_id_var as _request_id
from .metrics import BUSY_RESPONSES, RESPONSES

logger = logging.getLogger(__name__)
_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _VALID.match(given) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        # Also on the request: Django logs a 4xx after this middleware returns.
        request.request_id = request_id
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        RESPONSES.labels(f"{response.status_code // 100}xx").inc()
        if response.status_code == 503 and getattr(response, "data", None) == "Busy":
            match = getattr(request, "resolver_match", None)
            BUSY_RESPONSES.labels(match.url_name if match else "-").inc()
        return response

    def process_exception(self, request, exception):
        """A page (not an API view, which api_errors answers) that met a
        database down or restarting: 503 "Busy" with Retry-After, not 500."""
        from django.conf import settings
        from django.http import JsonResponse

        from ticketshop.api_errors import database_unavailable

        if not database_unavailable(exception):
            return None
        logger.warning("database unavailable in %s; answered Busy", request.path)
        response = JsonResponse("Busy", status=503, safe=False)
        response["Retry-After"] = str(settings.BUSY_RETRY_AFTER_SECONDS)
        BUSY_RESPONSES.labels("database").inc()
        return response
