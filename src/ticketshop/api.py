"""Request parsing and response formatting shared by the API views."""

import json
import logging
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import RequestDataTooBig
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .errors import ShopError

logger = logging.getLogger("ticketshop.api")

JSON_CONTENT_TYPE = "application/json"
# The largest id the database holds (a 64-bit signed integer), and its digits.
MAX_ID = 2**63 - 1
MAX_ID_DIGITS = len(str(MAX_ID))
# The most lines a reservation's ticket list may hold. Each line is at least
# one ticket, so a longer list could never be sold in one order; checked
# before any line is read, so an oversized list costs nothing.
MAX_TICKET_LINES = 100


def parse_id(value) -> int | None:
    """Return the positive integer id that ``value`` spells, or None.

    The one reader of ids from clients (bodies, paths, scanned payloads): a
    JSON integer or a string of ASCII digits (surrounding spaces ignored),
    1 to MAX_ID. Over-long digit strings are refused by their length, before
    Python's int() would raise on them (its 4,300-digit limit).
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not (0 < len(text) <= MAX_ID_DIGITS and text.isascii() and text.isdigit()):
            return None
        number = int(text)
    else:
        return None
    return number if 1 <= number <= MAX_ID else None


class InvalidRequestData(ShopError):
    """The body is not a JSON object of the expected shape."""


class BodyTooLarge(InvalidRequestData):
    """The body is larger than DATA_UPLOAD_MAX_MEMORY_SIZE."""


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
            {"type": "string", "pattern": "^[0-9]+$"},
        ],
        "description": "a positive integer id, as a JSON integer or a string",
    }
)
class IdField(serializers.Field):
    """A positive integer id, sent as a JSON integer or a string of digits."""

    def to_internal_value(self, data):
        value = parse_id(data)
        if value is None:
            raise serializers.ValidationError("not an id")
        return value

    def to_representation(self, value):
        return value


class StrictIntegerField(serializers.IntegerField):
    """An integer that must be a JSON integer (not a bool, float or string)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError("not an integer")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false, nothing else."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            raise serializers.ValidationError("not a boolean")
        return data


class StrictCharField(serializers.CharField):
    """A JSON string, nothing else."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            raise serializers.ValidationError("not a string")
        return super().to_internal_value(data)


def validate_items(
    serializer_class: type[serializers.Serializer], items: list, error: str
) -> list[dict]:
    """Each item of a JSON list through ``serializer_class``; any item that is
    not an object or not valid fails the whole list with ``error``."""
    validated = []
    for item in items:
        serializer = serializer_class(data=item)
        if not isinstance(item, dict) or not serializer.is_valid():
            raise serializers.ValidationError(error)
        validated.append(serializer.validated_data)
    return validated


def parse_body(serializer_class: type[serializers.Serializer], request) -> dict:
    """Return the validated body or raise InvalidRequestData.

    Only `application/json` is read: a browser sends text/plain (and form
    types) cross-site without a preflight, so reading JSON from them would
    let another site's page act with the buyer's cookie. A body nested too
    deeply for the parser or over Django's size limit is refused, not a 500.
    """
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip()
    if content_type.lower() != JSON_CONTENT_TYPE:
        raise InvalidRequestData()
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        logger.warning("body over the size limit on %s", request.path)
        raise BodyTooLarge() from exc
    try:
        data = json.loads(raw or b"null")
    except RecursionError as exc:
        logger.warning("body nested too deeply on %s", request.path)
        raise InvalidRequestData() from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestData() from exc
    if not isinstance(data, dict):
        raise InvalidRequestData()
    serializer = serializer_class(data=data)
    try:
        valid = serializer.is_valid()
    except RecursionError as exc:
        logger.warning("body nested too deeply on %s", request.path)
        raise InvalidRequestData() from exc
    if not valid:
        raise InvalidRequestData()
    return serializer.validated_data


def format_money(amount: Decimal) -> str:
    """Format kronor as the contract says: "199", or "99.50".

    A stored amount that is no number (see ticketshop.money) is written in
    words rather than failing the whole answer (the listing of every event).
    """
    if not amount.is_finite():
        return str(amount)
    if amount == amount.to_integral_value():
        return str(int(amount))
    return f"{amount:.2f}"


def format_time(value: datetime | None) -> str | None:
    """Format an aware datetime in the configured time zone."""
    return timezone.localtime(value).isoformat() if value is not None else None
