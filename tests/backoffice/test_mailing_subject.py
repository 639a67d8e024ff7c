"""A mass e-mail's subject is one line: a subject with a line break (which
Django would refuse to send, so the mails would never go out) or another
control character is refused on the form, in the viewer's language."""

import pytest
from django.urls import reverse

from ticketshop.backoffice import services
from ticketshop.backoffice.models import Mailing, OutgoingMail

from .conftest import issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def buyers(organiser, show):
    event, (standard, _student) = show
    issue(organiser, event, {standard.pk: 1}, email="kund@example.org")
    return event


@pytest.mark.parametrize(
    "subject",
    [
        "Välkommen\r\nBcc: alla@example.org",
        "Välkommen\nimorgon",
        "Välkommen\rimorgon",
        "Välkommen\u2028imorgon",
        "Välkommen\timorgon",
        "Välkommen\x00imorgon",
    ],
    ids=["crlf", "lf", "cr", "line separator", "tab", "nul"],
)
@pytest.mark.parametrize("confirm", [False, True], ids=["preview", "send"])
def test_subject_with_a_line_break_is_refused_and_nothing_is_queued(
    client, organiser, buyers, subject, confirm
):
    client.force_login(organiser)
    form = {"event": buyers.pk, "subject": subject, "body": "Dörrarna öppnar 18."}
    if confirm:
        form["confirm"] = "yes"

    response = client.post(
        reverse("admin:backoffice_mailing"), form, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert "without line breaks" in response.content.decode()
    assert not Mailing.objects.exists()
    assert not OutgoingMail.objects.exists()


def test_the_refusal_is_in_swedish_for_a_swedish_viewer(client, organiser, buyers):
    client.force_login(organiser)
    form = {"event": buyers.pk, "subject": "Hej\r\ndå", "body": "Text"}

    response = client.post(
        reverse("admin:backoffice_mailing"), form, HTTP_ACCEPT_LANGUAGE="sv"
    )

    assert response.status_code == 400
    assert "utan radbrytningar" in response.content.decode()


def test_a_subject_over_the_stored_length_is_refused_not_a_server_error(
    client, organiser, buyers
):
    client.force_login(organiser)
    form = {"event": buyers.pk, "subject": "Å" * 201, "body": "Text", "confirm": "yes"}

    response = client.post(
        reverse("admin:backoffice_mailing"), form, HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert "at most 200 characters" in response.content.decode()
    assert not Mailing.objects.exists()


def test_a_one_line_subject_with_emoji_and_swedish_letters_is_previewed(
    client, organiser, buyers
):
    client.force_login(organiser)
    subject = "Välkommen 👩\u200d🎤 till Fysikalen – öppnar 18:00"
    form = {"event": buyers.pk, "subject": subject, "body": "Text"}

    response = client.post(reverse("admin:backoffice_mailing"), form)

    assert response.status_code == 200
    assert 'id="preview"' in response.content.decode()


def test_the_service_refuses_a_subject_with_a_line_break(organiser, buyers):
    with pytest.raises(ValueError, match="control character"):
        services.start_mailing(
            user=organiser, event_ids=[buyers.pk], subject="A\r\nB", body="Text"
        )
    assert not Mailing.objects.exists()
