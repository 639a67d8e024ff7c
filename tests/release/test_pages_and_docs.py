"""The queue's pages in Swedish and English, its catalogue, and the docs'
recipe for checking a draw."""

import gettext
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client

from tests.release.helpers import queued_event
from ticketshop.release import services

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "src/ticketshop/release/locale/sv/LC_MESSAGES/django.po"


def test_every_message_has_a_swedish_translation_and_is_compiled(tmp_path):
    entries = re.split(r"\n\n+", PO.read_text(encoding="utf-8"))[1:]
    untranslated = [
        e for e in entries if re.search(r'^msgstr(\[\d\])? ""$(?!\n")', e, re.M)
    ]
    assert untranslated == []
    if shutil.which("msgfmt") is None:
        pytest.skip("msgfmt (gettext) is not installed")
    fresh = tmp_path / "fresh.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(PO)], check=True)  # noqa: S603,S607
    with fresh.open("rb") as a, PO.with_suffix(".mo").open("rb") as b:
        assert (
            gettext.GNUTranslations(b)._catalog == gettext.GNUTranslations(a)._catalog
        )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "language, words",
    [("sv", ["Ställ dig i kön", "Kö:"]), ("en", ["Join the queue", "Queue:"])],
)
def test_the_queue_page_speaks_both_languages(language, words):
    event, _, _ = queued_event()
    client = Client(headers={"accept-language": language})
    page = client.get(f"/queue/{event.pk}/").content.decode()
    for word in words:
        assert word in page
    client.post(f"/queue/{event.pk}/", {"email": "ada@example.org", "tickets": "1"})
    page = client.get(f"/queue/{event.pk}/").content.decode()
    assert ("Du står i kön" if language == "sv" else "You are in the queue") in page


@pytest.mark.django_db
def test_the_event_page_points_to_the_queue():
    event, _, release = queued_event()
    page = Client().get(f"/events/{event.pk}/").content.decode()
    assert f"/queue/{event.pk}/" in page
    assert release.seed_commitment in page


@pytest.mark.django_db
def test_the_docs_recipe_checks_a_published_draw(tmp_path, monkeypatch, capsys):
    event, _, release = queued_event()
    for n in range(6):
        services.join(
            event_id=event.pk,
            session_token=f"s{n}",
            email=f"b{n}@example.org",
            tickets_wanted=1,
        )
    services.draw(release.pk, now=release.window_closes_at)
    draw = Client().get(f"/api/queue/draw/?chapter_event={event.pk}").json()
    page = (ROOT / "docs/how-the-release-works.md").read_text(encoding="utf-8")
    (snippet,) = re.findall(r"```python\n(.*?)```", page, re.S)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "draw.json").write_text(json.dumps(draw))
    exec(snippet, {})  # noqa: S102
    assert capsys.readouterr().out.strip() == "the draw checks out"
    draw["entries"].reverse()
    (tmp_path / "draw.json").write_text(json.dumps(draw))
    exec(snippet, {})  # noqa: S102
    assert capsys.readouterr().out.strip() == "the order differs"
