import json
from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ticketshop.events.models import ChapterEvent, TicketOffer, TicketType

pytestmark = pytest.mark.django_db

# Some years ahead of whenever the suite runs.
FUTURE_YEAR = datetime.now(UTC).year + 4

VALID = {
    "ticket_types": [
        {
            "key": "standard",
            "title": "Standard",
            "description": "Vanlig",
            "price": "199",
        },
        {"key": "student", "title": "Student", "price": "99.50", "visible": True},
    ],
    "events": [
        {
            "title": "Spex",
            "description": "Kul",
            "event_at": f"{FUTURE_YEAR}-12-05T19:00:00+01:00",
            "sales_stop_at": f"{FUTURE_YEAR}-12-05T18:00:00+01:00",
            "seats": 500,
            "max_tickets_per_payment": 6,
            "reservation_minutes": 10,
            "swish_message": "Spex",
            "location": "Nymble",
            "ticket_types": ["standard", {"key": "student", "limit": 100}],
        }
    ],
}


def run_import(tmp_path, data):
    path = tmp_path / "events.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    out = StringIO()
    call_command("import_events", str(path), stdout=out)
    return json.loads(out.getvalue())


def test_import_creates_types_and_events_and_prints_their_ids(tmp_path):
    created = run_import(tmp_path, VALID)

    standard = TicketType.objects.get(pk=created["ticket_types"]["standard"])
    student = TicketType.objects.get(pk=created["ticket_types"]["student"])
    assert str(student.price) == "99.50"
    (event_id,) = created["events"]
    event = ChapterEvent.objects.get(pk=event_id)
    assert event.seats == 500
    assert event.max_tickets_per_payment == 6
    assert event.reservation_minutes == 10
    offers = {
        o.ticket_type_id: o.limit for o in TicketOffer.objects.filter(event=event)
    }
    assert offers == {standard.pk: None, student.pk: 100}


def test_relative_times_are_in_the_future(tmp_path):
    data = json.loads(json.dumps(VALID))
    data["events"][0]["event_at"] = "+30d 19:00"
    data["events"][0]["sales_stop_at"] = "+30d 18:00"
    created = run_import(tmp_path, data)
    event = ChapterEvent.objects.get(pk=created["events"][0])
    assert event.sales_stop_at < event.event_at


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["events"][0].pop("seats"), "'seats' is missing"),
        (lambda d: d["events"][0].update(seats=-1), "'seats'"),
        (lambda d: d["events"][0].update(event_at="tomorrow"), "not an ISO 8601"),
        (lambda d: d["events"][0].update(ticket_types=["nope"]), "unknown ticket type"),
        (lambda d: d["ticket_types"][0].update(price="1.999"), "'price'"),
        (lambda d: d["ticket_types"][0].update(price="abc"), "'price'"),
        (lambda d: d["ticket_types"].append(d["ticket_types"][0]), "used twice"),
        (lambda d: d["events"][0].update(swish_message="x" * 51), "longer than 50"),
    ],
)
def test_malformed_file_is_a_clear_error_and_creates_nothing(tmp_path, mutate, message):
    data = json.loads(json.dumps(VALID))
    mutate(data)
    with pytest.raises(CommandError, match=message):
        run_import(tmp_path, data)
    assert not TicketType.objects.exists()
    assert not ChapterEvent.objects.exists()


def test_invalid_json_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="not valid JSON"):
        run_import(tmp_path, "{oops")


def test_seed_demo_is_idempotent():
    call_command("seed_demo", stdout=StringIO())
    events = ChapterEvent.objects.count()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert ChapterEvent.objects.count() == events > 0
    assert "already present" in out.getvalue()
