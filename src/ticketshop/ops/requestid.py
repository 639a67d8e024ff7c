"""Request ids: one per request, in every log line and the X-Request-ID header.

A proxy's X-Request-ID is kept (so its access log and ours match) when it
looks like an id; otherwise a new one is made.
"""

import re
import uuid

from .logcontext import request_id_var as _request_id
from .metrics import BUSY_RESPONSES, RESPONSES

_VALID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _VALID.match(given) else uuid.uuid4().hex
        token = _request_id.set(request_id)
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
