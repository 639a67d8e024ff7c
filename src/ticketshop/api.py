"""Request parsing and response formatting shared by the API views."""

import json
from datetime import datetime
from decimal import Decimal

from django.utils import timezone
from rest_framework import serializers

from .errors import ShopError


class InvalidRequestData(ShopError):
    """The body is not a JSON object of the expected shape."""


class IdField(serializers.Field):
    """A positive integer id, sent as a JSON integer or a string of digits."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            raise serializers.ValidationError("not an id")
        if isinstance(data, int):
            value = data
        elif (
            isinstance(data, str) and data.strip().isascii() and data.strip().isdigit()
        ):
            value = int(data.strip())
        else:
            raise serializers.ValidationError("not an id")
        if value < 1 or value > 2**63 - 1:
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


def parse_body(serializer_class: type[serializers.Serializer], request) -> dict:
    """Return the validated body or raise InvalidRequestData.

    The raw body is read whatever the Content-Type, as the original front end
    and some proxies send JSON with other types.
    """
    try:
        data = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequestData() from exc
    if not isinstance(data, dict):
        raise InvalidRequestData()
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise InvalidRequestData()
    return serializer.validated_data


def format_money(amount: Decimal) -> str:
    """Format kronor as the contract says: "199", or "99.50"."""
    if amount == amount.to_integral_value():
        return str(int(amount))
    return f"{amount:.2f}"


def format_time(value: datetime | None) -> str | None:
    """Format an aware datetime in the configured time zone."""
    return timezone.localtime(value).isoformat() if value is not None else None
