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


# C0 and C1 control characters (and DEL, and the Unicode line and paragraph
# separators): a client that gets one into a log line could forge another.
_CONTROL = {
    c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"
    for c in [*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029]
}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def escape_control(text: str) -> str:
    return text.translate(_CONTROL)


class EscapeControlFilter(logging.Filter):
    """Escapes control characters in every record's message (args included),
    so that client input logged anywhere stays on its own line, in the plain
    and the JSON format alike. Tracebacks are left as they are."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must still log
            message = f"{record.msg!r} % {record.args!r}"
        escaped = escape_control(message)
        if escaped != message or record.args:
            record.msg, record.args = escaped, None
        return True


# Statuses a client causes and the shop answers as planned: one line each.
EXPECTED_CLIENT_ERRORS = {400, 401, 403, 404, 405, 408, 409, 410, 413, 429}


class ClientErrorFilter(logging.Filter):
    """Turns Django's log record of an expected client error (a 403 from
    PermissionDenied logs its whole traceback) into one line: method, path,
    status (the request id is in every line's format)."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        request = getattr(record, "request", None)
        if status in EXPECTED_CLIENT_ERRORS and request is not None:
            method = getattr(request, "method", "?")
            path = getattr(request, "path", "?")
            record.request_id = getattr(request, "request_id", None) or getattr(
                record, "request_id", "-"
            )
            record.msg = "%s %s answered %s"
            record.args = (method, path, status)
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        return True
