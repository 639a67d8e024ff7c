"""Money due at the door after an exchange to dearer tickets: shown once per
order at the scanner (online answer and offline door list), collected there
or in the back office (once, audited, never more than due)."""

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader
from rest_framework.test import APIClient

from tests.factories import event_with_types
from tests.scanning import conftest as scanning
from tests.scanning.factories import SCANNER_PASSWORD
from ticketshop.backoffice import exports, services
from ticketshop.backoffice.models import AuditEntry
from ticketshop.backoffice.selectors import event_figures
from ticketshop.delivery.emails import build_ticket_email
from ticketshop.orders.models import Order, PaymentMethod
from ticketshop.payments.errors import MoreThanDueAtDoor, NothingDueAtDoor
from ticketshop.payments.models import DoorPayment, SwishPayment, SwishStatus

from .conftest import issue

pytestmark = pytest.mark.django_db

# The scanning tests' fixtures: a scanner account and PUT /validate_ticket/.
fast_hasher = scanning.fast_hasher
forget_verified_credentials = scanning.forget_verified_credentials
scanner_account = scanning.scanner_account
scan = scanning.scan


@pytest.fixture
def owing(organiser, show):
    """An order of two 199 kr tickets exchanged to a night at 249 kr: it owes
    100 kr at the door (2 × 50), once for the order."""
    event, (standard, _student) = show
    later, (dear,) = event_with_types(seats=10, prices=("249",), title="Lördag")
    order = issue(
        organiser,
        event,
        {standard.pk: 2},
        method=PaymentMethod.CASH,
        prices={standard.pk: Decimal("199")},
    )
    services.exchange_order(
        user=organiser,
        order_id=order.pk,
        event_id=later.pk,
        type_map={standard.pk: dear.pk},
    )
    order.refresh_from_db()
    assert order.due_at_door == Decimal("100")
    return order


def ticket_ids(order):
    return list(
        order.tickets.filter(cancelled_at__isnull=True)
        .order_by("pk")
        .values_list("external_id", flat=True)
    )


def collect(external_id, *, amount="100", method="CASH", key="click-0001"):
    return APIClient().post(
        "/scan/collect/",
        {
            "password": SCANNER_PASSWORD,
            "external_id": external_id,
            "amount": amount,
            "method": method,
            "key": key,
        },
        format="json",
    )


def test_scanner_answer_asks_for_the_amount_on_the_first_ticket_only(scan, owing):
    first, second = ticket_ids(owing)
    answer = scan(first).json()
    assert answer["status"] == "PAID"
    assert answer["due_at_door"] == "100"
    assert answer["order_reference"] == owing.reference
    assert answer["first_of_order"] is True
    # The order's second ticket: the same 100 kr, not another 100.
    again = scan(second).json()
    assert again["due_at_door"] == "100" and again["first_of_order"] is False


def test_scanner_answer_of_an_order_owing_nothing_says_0(scan, organiser, show):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 1})
    answer = scan(ticket_ids(order)[0]).json()
    assert answer["due_at_door"] == "0"


def test_cash_collected_at_the_scanner_settles_the_order_once(
    scan, scanner_account, owing
):
    first, second = ticket_ids(owing)
    scan(first)
    response = collect(first)
    assert response.status_code == 200
    assert response.json() == {
        "order_reference": owing.reference,
        "amount": "100",
        "method": "CASH",
        "due_at_door": "0",
    }
    # A double click sends the same key: nothing more is collected.
    assert collect(first).status_code == 200
    assert DoorPayment.objects.filter(order=owing).count() == 1
    payment = DoorPayment.objects.get(order=owing)
    assert payment.amount == Decimal("100") and payment.method == "CASH"
    assert payment.event_id == owing.event_id
    owing.refresh_from_db()
    assert owing.due_at_door == 0
    entry = AuditEntry.objects.get(action="collect_at_door", order=owing)
    assert entry.before == {"due_at_door": "100.00"}
    assert entry.after["due_at_door"] == "0.00"
    assert entry.username == scanner_account.name == payment.recorded_by
    # Settled: the next ticket of the order shows nothing due.
    assert scan(second).json()["due_at_door"] == "0"
    # Another click (a new key) finds nothing due.
    refused = collect(second, key="click-0002")
    assert refused.status_code == 409
    assert refused.json() == "NothingDueAtDoor"


def test_more_than_is_due_is_refused_and_changes_nothing(scan, owing):
    first, _ = ticket_ids(owing)
    response = collect(first, amount="150", method="SWISH")
    assert response.status_code == 409
    assert response.json() == {"error": "MoreThanDueAtDoor", "due_at_door": "100"}
    assert not DoorPayment.objects.exists()
    owing.refresh_from_db()
    assert owing.due_at_door == Decimal("100")
    # Part of it is fine: 60 now, 40 left.
    assert collect(first, amount="60", method="SWISH").json()["due_at_door"] == "40"


@pytest.mark.parametrize(
    "body",
    [
        {"amount": "0"},
        {"amount": "-5"},
        {"amount": "NaN"},
        {"method": "CARD"},
        {"key": "short"},
    ],
)
def test_bad_collect_requests_are_400(scan, owing, body):
    payload = {
        "password": SCANNER_PASSWORD,
        "external_id": ticket_ids(owing)[0],
        "amount": "100",
        "method": "CASH",
        "key": "click-0001",
        **body,
    }
    response = APIClient().post("/scan/collect/", payload, format="json")
    assert response.status_code == 400
    assert response.json() == "InvalidRequestData"


def test_collect_needs_the_scanner_password_and_a_known_ticket(scan, owing):
    wrong = APIClient().post(
        "/scan/collect/",
        {
            "password": "nope",
            "external_id": ticket_ids(owing)[0],
            "amount": "100",
            "method": "CASH",
            "key": "click-0001",
        },
        format="json",
    )
    assert wrong.status_code == 401
    assert collect("ZZZZZZ").status_code == 404
    assert not DoorPayment.objects.exists()


def test_door_list_carries_the_amount_once_per_order(scanner_account, owing):
    response = APIClient().post(
        "/scan/door/", {"password": SCANNER_PASSWORD}, format="json"
    )
    body = response.json()
    assert body["orders_due"] == {
        owing.reference: {
            "due_at_door": "100",
            "tickets": ticket_ids(owing),
            "used": 0,
        }
    }


def test_service_refuses_nothing_due_and_more_than_due(organiser, owing, show):
    with pytest.raises(MoreThanDueAtDoor):
        services.collect_at_door(
            order_id=owing.pk,
            amount=Decimal("100.01"),
            method="CASH",
            key="k1",
            user=organiser,
        )
    event, (standard, _) = show
    other = issue(organiser, event, {standard.pk: 1})
    with pytest.raises(NothingDueAtDoor):
        services.collect_at_door(
            order_id=other.pk,
            amount=Decimal("1"),
            method="CASH",
            key="k2",
            user=organiser,
        )
    assert not DoorPayment.objects.exists()
    assert Order.objects.get(pk=owing.pk).due_at_door == Decimal("100")


@pytest.mark.parametrize(
    ("language", "button", "done", "too_much"),
    [
        (
            "sv",
            "Registrera betalning i dörren",
            "Betalt i dörren",
            "Mer än vad som ska betalas",
        ),
        ("en", "Record payment at the door", "Paid at the door", "More than is due"),
    ],
)
def test_back_office_records_a_payment_at_the_door(
    client, treasurer, owing, language, button, done, too_much
):
    client.force_login(treasurer)
    client.cookies["django_language"] = language
    url = reverse("admin:backoffice_collect", args=[owing.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert button in page.content.decode()
    assert "100" in page.content.decode()
    key = page.context["key"]
    refused = client.post(url, {"amount": "120", "method": "CASH", "key": key})
    assert refused.status_code == 400
    assert too_much in refused.content.decode()
    assert not DoorPayment.objects.exists()
    response = client.post(
        url, {"amount": "100", "method": "SWISH", "key": key}, follow=True
    )
    assert response.status_code == 200
    assert done in response.content.decode()
    # The same form sent again (double click, back and resend): once.
    client.post(url, {"amount": "100", "method": "SWISH", "key": key})
    payment = DoorPayment.objects.get()
    assert payment.method == "SWISH" and payment.recorded_by == "treasurer"
    assert AuditEntry.objects.filter(action="collect_at_door").count() == 1


def test_back_office_collect_needs_the_refund_permission(client, door_manager, owing):
    client.force_login(door_manager)
    url = reverse("admin:backoffice_collect", args=[owing.pk])
    assert client.get(url).status_code == 403


def _csv_rows(response):
    return list(
        csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";")
    )


def test_door_list_csv_and_pdf_show_the_amount_once_per_order(client, organiser, owing):
    client.force_login(organiser)
    url = reverse("admin:backoffice_attendees", args=[owing.event_id, "csv"])
    rows = _csv_rows(client.get(url))[1:]
    assert [r[9] for r in rows] == ["100,00", ""]
    for language, words in (("sv", "att betala 100 kr"), ("en", "to pay 100 kr")):
        client.cookies["django_language"] = language
        pdf = client.get(reverse("admin:backoffice_door_list", args=[owing.event_id]))
        text = "".join(
            p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages
        )
        assert text.count(words) == 1, text
        # The amount once, whatever ids or dates on the page hold "100".
        assert len(re.findall(r"100(?:[,.]00)? kr", text)) == 1, text


def test_bookkeeping_has_a_row_per_door_payment_under_its_event(
    client, treasurer, organiser, show
):
    event, (standard, _) = show
    later, (dear,) = event_with_types(seats=10, prices=("249",), title="Lördag")
    order = issue(
        organiser,
        event,
        {standard.pk: 1},
        method=PaymentMethod.CASH,
        prices={standard.pk: Decimal("199")},
    )
    swish = issue(
        organiser,
        event,
        {standard.pk: 1},
        method=PaymentMethod.COMPLIMENTARY,
        email="b@example.org",
    )
    paid_at = timezone.now() - timedelta(minutes=5)
    SwishPayment.objects.create(
        order=swish,
        request_id="B" * 32,
        callback_identifier="c",
        amount=Decimal("199.00"),
        status=SwishStatus.PAID,
        payment_reference="PAYREF2",
        date_paid=paid_at,
    )
    for exchanged in (order, swish):
        services.exchange_order(
            user=organiser,
            order_id=exchanged.pk,
            event_id=later.pk,
            type_map={standard.pk: dear.pk},
        )
    services.collect_at_door(
        order_id=order.pk,
        amount=Decimal("50"),
        method="SWISH",
        key="k-book",
        user=organiser,
    )
    client.force_login(treasurer)
    client.cookies["django_language"] = "en"
    # Five minutes ago may be yesterday just after midnight: ask from that day.
    since, today = timezone.localdate(paid_at), timezone.localdate()
    response = client.get(
        reverse("admin:backoffice_bookkeeping"),
        {"from": since, "to": today, "format": "csv"},
    )
    rows = {(r[1], r[3] or r[5]): r for r in _csv_rows(response)[1:]}
    door = rows[("payment at the door", "Swish at the door")]
    assert door[2] == order.reference
    assert door[4] == "Lördag"  # collected for the night it was owed for
    assert door[6] == "50,00"
    assert door[7] == "2,83" and door[8] == "47,17"  # 6 % VAT included
    # Money taken before the exchange stays under the event it paid for.
    assert rows[("payment", "PAYREF2")][4] == event.title
    assert rows[("payment", "cash")][4] == event.title


def test_dashboard_shows_due_and_collected(client, organiser, owing):
    services.collect_at_door(
        order_id=owing.pk,
        amount=Decimal("40"),
        method="CASH",
        key="k-dash",
        user=organiser,
    )
    client.force_login(organiser)
    client.cookies["django_language"] = "en"
    page = client.get(reverse("admin:backoffice_event", args=[owing.event_id]))
    html = page.content.decode()
    assert re.search(r'id="due-at-door">60[.,]00<', html)
    assert re.search(r'id="collected-at-door">40[.,]00<', html)
    assert "collected at the door (kr)" in html


def test_dashboard_vat_matches_the_bookkeeping_rows(client, organiser, show):
    """Three orders of one 199 kr ticket: each payment's VAT is 11.26 kr
    (6 %), 33.78 kr in all; rounding the type's 597 kr once gave 33.79."""
    event, (standard, _) = show
    for n in range(3):
        issue(
            organiser,
            event,
            {standard.pk: 1},
            method=PaymentMethod.CASH,
            prices={standard.pk: Decimal("199")},
            email=f"v{n}@example.org",
        )
    client.force_login(organiser)
    client.cookies["django_language"] = "en"
    today = timezone.localdate()
    rows = _csv_rows(
        client.get(
            reverse("admin:backoffice_bookkeeping"),
            {"from": today, "to": today, "format": "csv"},
        )
    )[1:]
    exported = sum(Decimal(r[7].replace(",", ".")) for r in rows)
    assert exported == Decimal("33.78")
    html = client.get(reverse("admin:backoffice_event", args=[event.pk])).content
    assert re.search(r'id="vat">33[.,]78<', html.decode())


@pytest.mark.parametrize(
    ("language", "due", "paid"),
    [
        (
            "sv",
            "Att betala i dörren: 100 kr",
            "Du har betalat 398 kr av 498 kr. Betala resterande 100 kr i dörren",
        ),
        (
            "en",
            "To pay at the door: 100 kr",
            "You have paid 398 kr of 498 kr. Please pay the remaining 100 kr",
        ),
    ],
)
def test_ticket_email_after_the_exchange_asks_for_the_amount(
    owing, language, due, paid
):
    message = build_ticket_email(order=owing, language=language)
    html = message.alternatives[0][0]
    for body in (message.body, html):
        assert body.count(due) == 1
        assert paid in body


def test_ticket_email_of_a_settled_order_asks_for_nothing(organiser, owing):
    services.collect_at_door(
        order_id=owing.pk, amount=Decimal("100"), method="CASH", key="k-mail"
    )
    owing.refresh_from_db()
    message = build_ticket_email(order=owing, language="en")
    assert "To pay at the door" not in message.body


def test_dashboard_vat_is_rounded_per_receipt_line(organiser, show):
    """The selector itself: 3 × 11.26 kr, not 597 kr rounded once (33.79)."""
    event, (standard, _) = show
    for n in range(3):
        issue(
            organiser,
            event,
            {standard.pk: 1},
            method=PaymentMethod.CASH,
            prices={standard.pk: Decimal("199")},
            email=f"v{n}@example.org",
        )
    figures = event_figures(event)
    assert figures.vat == Decimal("33.78")
    assert sum(t.vat for t in figures.types) == figures.vat


def test_swish_payment_before_an_exchange_stays_under_its_event(organiser, show):
    event, (standard, _) = show
    later, (dear,) = event_with_types(seats=10, prices=("249",), title="Lördag")
    order = issue(organiser, event, {standard.pk: 1})
    paid_at = timezone.now() - timedelta(minutes=5)
    SwishPayment.objects.create(
        order=order,
        request_id="C" * 32,
        callback_identifier="c",
        amount=Decimal("199.00"),
        status=SwishStatus.PAID,
        payment_reference="PAYREF3",
        date_paid=paid_at,
    )
    services.exchange_order(
        user=organiser,
        order_id=order.pk,
        event_id=later.pk,
        type_map={standard.pk: dear.pk},
    )
    since, today = timezone.localdate(paid_at), timezone.localdate()
    _header, rows = exports.bookkeeping_rows(since, today)
    assert [r[4] for r in rows if r[3] == "PAYREF3"] == [event.title]
