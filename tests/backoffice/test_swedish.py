"""The back office speaks Swedish (and English): every string translated."""

import gettext
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
