"""The request id of the running request, for log records (no Django imports:
logging is configured before the apps are loaded)."""

import contextvars
import logging

request_id_var = contextvars.ContextVar("request_id", default="-")


def current_request_id() -> str:
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every log record (``-`` outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id_var.get()
        return True
