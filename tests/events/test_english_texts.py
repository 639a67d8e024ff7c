"""Events and ticket types carry optional English texts, imported from the file."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ticketshop.events.models import ChapterEvent, TicketType

from .test_import_events import VALID, run_import

pytestmark = pytest.mark.django_db


def with_english():
    data = json.loads(json.dumps(VALID))
    data["ticket_types"][0].update(title_en="Standard ticket", description_en="Plain")
    data["events"][0].update(title_en="Revue", description_en="Fun")
    return data


def test_import_keeps_the_english_texts(tmp_path):
    created = run_import(tmp_path, with_english())

    standard = TicketType.objects.get(pk=created["ticket_types"]["standard"])
    assert (standard.title_en, standard.description_en) == ("Standard ticket", "Plain")
    student = TicketType.objects.get(pk=created["ticket_types"]["student"])
    assert (student.title_en, student.description_en) == ("", "")
    event = ChapterEvent.objects.get(pk=created["events"][0])
    assert (event.title_en, event.description_en) == ("Revue", "Fun")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["events"][0].update(title_en=7), "'title_en'"),
        (lambda d: d["events"][0].update(title_en="x" * 201), "longer than 200"),
        (lambda d: d["ticket_types"][0].update(description_en=[]), "'description_en'"),
    ],
)
def test_malformed_english_text_is_refused(tmp_path, mutate, message):
    data = with_english()
    mutate(data)
    with pytest.raises(CommandError, match=message):
        run_import(tmp_path, data)
    assert not ChapterEvent.objects.exists()


def test_texts_fall_back_to_swedish():
    kind = TicketType(title="Studentbiljett", description="Billig", title_en="")

    assert kind.title_in("en") == "Studentbiljett"
    assert kind.title_language("en") == "sv"
    kind.title_en = "Student ticket"
    assert kind.title_in("en") == "Student ticket"
    assert kind.title_language("en") == "en"
    assert kind.title_in("sv") == "Studentbiljett"
    assert kind.description_in("en") == "Billig"


def test_demo_seed_has_english_texts():
    call_command("seed_demo", stdout=StringIO())

    assert ChapterEvent.objects.exclude(title_en="").exists()
    assert TicketType.objects.exclude(title_en="").exists()
