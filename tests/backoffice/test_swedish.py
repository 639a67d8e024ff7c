"""The back office speaks Swedish (and English): every string translated."""

import gettext
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from ticketshop.backoffice.models import AuditEntry, OutgoingMail
from ticketshop.events.models import ChapterEvent
from ticketshop.orders.models import Order, OrderStatus, PaymentMethod
from ticketshop.payments.models import SwishRefund

SRC = Path(__file__).resolve().parents[2] / "src" / "ticketshop"
CATALOGUES = [
    SRC / app / "locale" / "sv" / "LC_MESSAGES" / "django.po"
    for app in ("backoffice", "delivery", "orders", "payments", "events", "scanning")
]


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: p.parts[-5])
def test_every_message_has_a_swedish_translation_and_is_compiled(po, tmp_path):
    entries = re.split(r"\n\n+", po.read_text(encoding="utf-8"))[1:]
    untranslated = [
        e for e in entries if re.search(r'^msgstr(\[\d\])? ""$(?!\n")', e, re.M)
    ]
    assert untranslated == []
    if shutil.which("msgfmt") is None:
        pytest.skip("msgfmt (gettext) is not installed")
    fresh = tmp_path / "fresh.mo"
    subprocess.run(["msgfmt", "-o", str(fresh), str(po)], check=True)  # noqa: S603,S607
    committed = po.with_suffix(".mo")
    with fresh.open("rb") as a, committed.open("rb") as b:
        assert (
            gettext.GNUTranslations(b)._catalog == gettext.GNUTranslations(a)._catalog
        )


def test_model_labels_are_swedish():
    with translation.override("sv"):
        assert str(Order._meta.get_field("status").verbose_name) == "status"
        assert str(OrderStatus.PAID.label) == "Betald"
        assert str(PaymentMethod.COMPLIMENTARY.label) == "fribiljett"
        assert str(ChapterEvent._meta.get_field("seats").verbose_name) == "platser"
        assert str(SwishRefund._meta.verbose_name_plural) == "Swish-återbetalningar"
        assert str(AuditEntry._meta.verbose_name_plural) == "händelselogg"
        assert str(OutgoingMail._meta.get_field("recipient").verbose_name) == "till"
    with translation.override("en"):
        assert str(AuditEntry._meta.verbose_name_plural) == "audit log"


@pytest.mark.django_db
def test_the_dashboard_in_swedish_and_english(client, organiser, show):
    client.force_login(organiser)
    url = reverse("admin:backoffice_event", args=[show[0].pk])
    swedish = client.get(url, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Sålda biljetter över tid, mot kapaciteten" in swedish
    assert "Utfärda biljetter" in swedish
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Tickets sold over time, against capacity" in english


# --- The word crawl: every admin and back-office page, per role and language -

# Labels once found in English on Swedish pages (issue 20), and the reverse.
ENGLISH_ON_SWEDISH = [
    "Events",
    "Orders",
    "Payments",
    "Scanning",
    "capacity",
    "Door list",
    "door list",
    "organiser",
    "treasurer",
    "door manager",
    "In English (optional)",
    "Title in English",
    "Description in English",
    "Ticket type",
    "ticket type",
    "times used before",
    "Admitted (use recorded)",
    "Not paid",
    "cancel_tickets",
    "change_email",
    "Sales and guests",
    "Audit log",
    "refunded through Swish",
    "No sales yet",
    "You may not open this page",
]
SWEDISH_ON_ENGLISH = [
    "återbetalt",
    "begärd",
    "Avbokade",
    "Utfärdade",
    "Ändrade",
    "biljetter",
    "biljett",
    "Evenemang",
    "evenemang",
    "kvar av",
    "Försäljning",
    "gånger",
    "Dörrlista",
    "dörrlista",
    "Insläpp",
    "Händelselogg",
    "köpare",
    "kapacitet",
    "arrangör",
    "kassör",
    "dörransvarig",
    "överbokat",
]
# US dates in English ("01/04/2027") and English decimals in Swedish amounts.
US_DATE = re.compile(r"\b\d{2}/\d{2}/\d{4}\b")
POINT_KRONOR = re.compile(r"\b\d+\.\d{2} kr\b")


def visible_text(html: str) -> str:
    """The text a reader sees: no tags, scripts, styles or attributes."""
    from html.parser import HTMLParser

    class Text(HTMLParser):
        def __init__(self):
            super().__init__()
            self.parts, self.skip = [], 0

        def handle_starttag(self, tag, attrs):
            if tag in ("script", "style", "svg") and tag != "svg":
                self.skip += 1
            for name, value in attrs:
                if name in ("title", "aria-label", "placeholder") and value:
                    self.parts.append(value)

        def handle_endtag(self, tag):
            if tag in ("script", "style"):
                self.skip = max(0, self.skip - 1)

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    parser = Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def leftovers(text: str, lang: str) -> list[str]:
    words = ENGLISH_ON_SWEDISH if lang == "sv" else SWEDISH_ON_ENGLISH
    found = [w for w in words if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)]
    if lang == "en":
        found += US_DATE.findall(text)
    else:
        found += POINT_KRONOR.findall(text)
    return found


SKIP = re.compile(
    r"/logout/|/password_change/|/delete/|/history/|\.pdf$|\.csv$|\.xlsx$|"
    r"/bookkeeping/\?.*format=|/r/\d+/|/autocomplete/|/jsi18n/"
)


def crawl(client, lang: str, limit: int = 400) -> dict[str, list[str]]:
    """Every admin page reachable by links from the start page; per page,
    the words of the other language found on it."""
    from urllib.parse import urldefrag, urljoin, urlsplit

    seen, queue, found = set(), ["/admin/"], {}
    while queue and len(seen) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
        assert response.status_code in (200, 302, 403, 404), (url, response)
        if response.status_code != 200 or "html" not in response["Content-Type"]:
            continue
        html = response.content.decode()
        bad = leftovers(visible_text(html), lang)
        if bad:
            found[url] = bad
        for href in re.findall(r'href="([^"#]+)', html):
            target = urldefrag(urljoin(url, href.replace("&amp;", "&")))[0]
            parts = urlsplit(target)
            if parts.netloc or not parts.path.startswith("/admin/"):
                continue
            # One page per list filter or sort order is enough.
            if parts.query and not re.fullmatch(
                r"(event__id__exact|q)=\w+", parts.query
            ):
                continue
            if not SKIP.search(target) and target not in seen:
                queue.append(target)
    return found


@pytest.fixture
def crawlers(db):
    """A user per role, with names of neither language."""
    from tests.backoffice.conftest import user_in

    return {
        "organiser": user_in("organiser", "kim"),
        "treasurer": user_in("treasurer", "alex"),
        "door_manager": user_in("door manager", "sam"),
    }


@pytest.fixture
def a_night_of_everything(crawlers):
    """Data every admin page has something to show of, named neutrally."""
    organiser = crawlers["organiser"]
    from django.utils import timezone

    from tests.backoffice.conftest import issue
    from tests.factories import event_with_types
    from ticketshop.backoffice import services
    from ticketshop.scanning.models import ScanLog, ScannerAccount, ScanResult

    event, (standard, reduced) = event_with_types(
        seats=12,
        prices=("199", "99"),
        title="Spring Show",
        title_en="Spring Show",
        description="Spring Show.",
        swish_message="Spring Show",
        location="Aula",
    )
    for ticket_type, title in ((standard, "Standard"), (reduced, "Reduced")):
        ticket_type.title = ticket_type.title_en = ticket_type.description = title
        ticket_type.save()
    with translation.override("sv"):
        order = issue(organiser, event, {standard.pk: 1}, method=PaymentMethod.CASH)
        issue(organiser, event, {reduced.pk: 10}, name="Robin Smith")
        services.cancel_tickets(
            user=organiser,
            order_id=order.pk,
            ticket_ids=[order.tickets.first().pk],
            notify=False,
        )
    ChapterEvent.objects.filter(pk=event.pk).update(seats=8)
    ScannerAccount.objects.create(name="door 1", password="x")
    ScanLog.objects.create(
        scanner_name="door 1",
        external_id="ABC",
        event=event,
        use_requested=True,
        result=ScanResult.ADMITTED,
        times_used_before=1,
        offline_result="amber",
        offline_key="k1",
        conflict=True,
        scanned_at=timezone.now(),
    )
    return event


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["sv", "en"])
@pytest.mark.parametrize("role", ["organiser", "treasurer", "door_manager"])
def test_no_admin_page_shows_words_of_the_other_language(
    client, crawlers, a_night_of_everything, role, lang
):
    client.force_login(crawlers[role])
    assert crawl(client, lang) == {}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_buyer_emails_show_no_words_of_the_other_language(
    crawlers, a_night_of_everything, mailoutbox, lang
):
    from tests.backoffice.conftest import issue
    from tests.delivery.conftest import run_worker
    from ticketshop.backoffice import services

    event = a_night_of_everything
    reduced = event.offers.get(ticket_type__title="Reduced").ticket_type
    run_worker()  # the fixture's own e-mails, in Swedish
    mailoutbox.clear()
    with translation.override(lang):
        order = issue(
            crawlers["organiser"],
            event,
            {reduced.pk: 2},
            method=PaymentMethod.CASH,
            allow_over_capacity=True,
        )
    Order.objects.filter(pk=order.pk).update(language=lang)
    with translation.override("en" if lang == "sv" else "sv"):
        # The organiser's language is not the buyer's.
        services.cancel_tickets(
            user=crawlers["organiser"],
            order_id=order.pk,
            ticket_ids=[order.tickets.first().pk],
        )
    run_worker()
    # The cancellation notice; the ticket e-mail of an organiser's order is
    # in the shop's default language (the buyer never chose one).
    cancelled = order.tickets.order_by("pk").first().external_id
    # The notice is the mail without attachments (the ticket e-mail carries
    # the tickets): "QR" in the body told them apart until a random ticket
    # id or reference held those two letters.
    notices = [m for m in mailoutbox if cancelled in m.body and not m.attachments]
    assert notices
    for mail in notices:
        text = f"{mail.subject}\n{mail.body}"
        assert leftovers(text, lang) == [], text
        if lang == "sv":
            assert "99.00" not in text


@pytest.mark.django_db
@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_scanner_page_shows_no_words_of_the_other_language(client, lang):
    """The door's page, with every message its script may show (they come
    with the page), in the volunteer's language only."""
    client.cookies["django_language"] = lang
    page = client.get("/scan/", HTTP_ACCEPT_LANGUAGE=lang)
    assert page.status_code == 200
    html = page.content.decode()
    assert leftovers(visible_text(html), lang) == []
    # The script's messages travel in the page as JSON: the same rule.
    found = re.search(
        r'<script id="scan-messages" type="application/json">(.*?)</script>',
        html,
        re.S,
    )
    messages = json.loads(found.group(1))
    assert len(messages) > 20
    text = " ".join(str(value) for value in messages.values())
    assert ("Återbetald biljett" in text) == (lang == "sv")
    assert leftovers(text, lang) == [], text
