"""Create ticket types and events from the JSON format of `import_events`.

The format is documented in docs/organisers.md. Relative times ("+30d 19:00": that
many days from today at that local time) let the demo seed stay in the future.
"""

import re
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ticketshop.errors import ShopError
from ticketshop.money import MAX_AMOUNT, parse_amount

from .models import ChapterEvent, TicketOffer, TicketType, swish_price_problem

_RELATIVE = re.compile(r"^\+(\d+)d(?: (\d{1,2}):(\d{2}))?$")
_EVENT_DEFAULTS = {
    "description": "",
    "title_en": "",
    "description_en": "",
    "sales_start_at": None,
    "max_tickets_per_payment": 8,
    "reservation_minutes": 15,
    "doors_open_minutes": 30,
    "swish_message": "",
    "location": "",
}


class ImportFileError(ShopError):
    """The import file is malformed; the message says where."""


def _fail(where: str, what: str):
    raise ImportFileError(f"{where}: {what}")


def _text(obj: dict, key: str, where: str, *, required=True, max_length=None) -> str:
    value = obj.get(key, None if required else "")
    if value is None and not required:
        value = ""
    if not isinstance(value, str) or (required and not value.strip()):
        _fail(where, f"'{key}' must be a non-empty string")
    if max_length is not None and len(value) > max_length:
        _fail(where, f"'{key}' is longer than {max_length} characters")
    return value


def _int(obj: dict, key: str, where: str, *, minimum: int) -> int:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        _fail(where, f"'{key}' must be a whole number ≥ {minimum}")
    return value


def _time(value, key: str, where: str, now: datetime) -> datetime:
    if not isinstance(value, str):
        _fail(where, f"'{key}' must be an ISO 8601 time or '+Nd HH:MM'")
    relative = _RELATIVE.match(value.strip())
    if relative:
        days, hour, minute = relative.groups()
        local = timezone.localtime(now) + timedelta(days=int(days))
        if hour is not None:
            if int(hour) > 23 or int(minute) > 59:
                _fail(where, f"'{key}' has no such time of day")
            local = local.replace(
                hour=int(hour), minute=int(minute), second=0, microsecond=0
            )
        return local
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        _fail(where, f"'{key}' is not an ISO 8601 time: {value!r}")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def import_events(*, data, now: datetime | None = None) -> dict:
    """Create everything the file describes, or nothing; return the new ids."""
    now = now or timezone.now()
    if not isinstance(data, dict):
        _fail("file", "must be a JSON object with 'ticket_types' and 'events'")
    types_in = data.get("ticket_types", [])
    events_in = data.get("events", [])
    if not isinstance(types_in, list) or not isinstance(events_in, list):
        _fail("file", "'ticket_types' and 'events' must be lists")
    with transaction.atomic():
        created_types: dict[str, TicketType] = {}
        for index, item in enumerate(types_in):
            where = f"ticket_types[{index}]"
            if not isinstance(item, dict):
                _fail(where, "must be an object")
            key = _text(item, "key", where)
            if key in created_types:
                _fail(where, f"key {key!r} is used twice")
            raw_price = item.get("price")
            price = None
            if isinstance(raw_price, int | float | str) and not isinstance(
                raw_price, bool
            ):
                try:
                    price = parse_amount(str(raw_price).replace(",", "#"))
                except ValueError:
                    price = None
            if price is None:
                _fail(
                    where,
                    "'price' must be kronor ≥ 0 with at most two decimals, at most"
                    f" {MAX_AMOUNT}",
                )
            problem = swish_price_problem(price)
            if problem:
                _fail(where, f"'price' {price}: {problem}")
            visible = item.get("visible", True)
            if not isinstance(visible, bool):
                _fail(where, "'visible' must be true or false")
            created_types[key] = TicketType.objects.create(
                title=_text(item, "title", where, max_length=200),
                description=_text(item, "description", where, required=False),
                title_en=_text(item, "title_en", where, required=False, max_length=200),
                description_en=_text(item, "description_en", where, required=False),
                price=price,
                visible=visible,
            )
        event_ids = []
        for index, item in enumerate(events_in):
            where = f"events[{index}]"
            if not isinstance(item, dict):
                _fail(where, "must be an object")
            for key in ("title", "event_at", "sales_stop_at", "seats", "ticket_types"):
                if key not in item:
                    _fail(where, f"'{key}' is missing")
            fields = {**_EVENT_DEFAULTS, **item}
            sales_start = fields["sales_start_at"]
            event = ChapterEvent(
                title=_text(fields, "title", where, max_length=200),
                description=_text(fields, "description", where, required=False),
                title_en=_text(
                    fields, "title_en", where, required=False, max_length=200
                ),
                description_en=_text(fields, "description_en", where, required=False),
                location=_text(
                    fields, "location", where, required=False, max_length=200
                ),
                swish_message=_text(
                    fields, "swish_message", where, required=False, max_length=50
                ),
                event_at=_time(fields["event_at"], "event_at", where, now),
                sales_start_at=None
                if sales_start is None
                else _time(sales_start, "sales_start_at", where, now),
                sales_stop_at=_time(
                    fields["sales_stop_at"], "sales_stop_at", where, now
                ),
                seats=_int(fields, "seats", where, minimum=0),
                max_tickets_per_payment=_int(
                    fields, "max_tickets_per_payment", where, minimum=1
                ),
                reservation_minutes=_int(
                    fields, "reservation_minutes", where, minimum=1
                ),
                doors_open_minutes=_int(fields, "doors_open_minutes", where, minimum=0),
            )
            event.save()
            offers = fields["ticket_types"]
            if not isinstance(offers, list):
                _fail(where, "'ticket_types' must be a list")
            seen = set()
            for offer in offers:
                limit = None
                if isinstance(offer, dict):
                    key, limit = offer.get("key"), offer.get("limit")
                    if limit is not None and (
                        isinstance(limit, bool)
                        or not isinstance(limit, int)
                        or limit < 0
                    ):
                        _fail(
                            where, "a ticket type's 'limit' must be a whole number ≥ 0"
                        )
                else:
                    key = offer
                if not isinstance(key, str) or key not in created_types:
                    _fail(where, f"unknown ticket type key {key!r}")
                if key in seen:
                    _fail(where, f"ticket type {key!r} is offered twice")
                seen.add(key)
                TicketOffer.objects.create(
                    event=event, ticket_type=created_types[key], limit=limit
                )
            event_ids.append(event.pk)
    return {
        "ticket_types": {key: tt.pk for key, tt in created_types.items()},
        "events": event_ids,
    }
