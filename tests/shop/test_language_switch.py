import pytest

pytestmark = pytest.mark.django_db


def test_switching_to_english_changes_the_pages(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    body = client.get("/").content.decode()
    assert '<html lang="en">' in body
    assert "Upcoming events" in body
    assert "Kommande evenemang" not in body
    # The switch now offers the way back.
    assert 'value="sv"' in body


def test_switching_back_to_swedish(client):
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    client.post("/i18n/setlang/", {"language": "sv", "next": "/"})

    body = client.get("/events/1/").content.decode()

    assert '<html lang="sv">' in body
    assert "Reservera biljetter" in body


def test_language_switch_keeps_the_current_page(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/pay/"})

    assert response["Location"] == "/pay/"


def test_script_messages_follow_the_language(client):
    swedish = client.get("/jsi18n/").content.decode()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    english = client.get("/jsi18n/").content.decode()

    # The catalogue is JSON, so "Slutsålt" appears escaped.
    assert '"Sold out": "Sluts\\u00e5lt"' in swedish
    assert "Sluts" not in english
