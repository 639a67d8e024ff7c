"""Organisers manage scanner accounts and see check-in per event in the admin."""

import pytest
from django.contrib.auth.hashers import check_password

from tests.factories import ChapterEventFactory
from ticketshop.orders.models import OrderStatus
from ticketshop.scanning.models import ScannerAccount

from .factories import ScannerAccountFactory, paid_ticket, ticket_with_status

pytestmark = pytest.mark.django_db


def test_new_scanner_account_stores_only_a_hash(admin_client):
    event = ChapterEventFactory()

    response = admin_client.post(
        "/admin/scanning/scanneraccount/add/",
        {
            "name": "Entrance A",
            "new_password": "door-password-42",
            "is_active": "on",
            "events": [event.pk],
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    account = ScannerAccount.objects.get(name="Entrance A")
    assert account.password != "door-password-42"
    assert "door-password-42" not in account.password
    assert check_password("door-password-42", account.password)
    assert list(account.events.all()) == [event]


def test_new_account_without_password_is_refused(admin_client):
    response = admin_client.post(
        "/admin/scanning/scanneraccount/add/",
        {"name": "Entrance B", "new_password": "", "is_active": "on"},
    )

    assert response.status_code == 200
    assert not ScannerAccount.objects.exists()


def test_blank_password_on_edit_keeps_the_old_one(admin_client):
    account = ScannerAccountFactory()
    old_hash = account.password

    response = admin_client.post(
        f"/admin/scanning/scanneraccount/{account.pk}/change/",
        {"name": "Renamed", "new_password": "", "is_active": "on"},
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.name, account.password) == ("Renamed", old_hash)


def test_check_in_page_shows_admitted_versus_sold(admin_client, scan):
    event = ChapterEventFactory(title="Vårbalen")
    used = [paid_ticket(order__event=event) for _ in range(2)]
    for _ in range(3):
        paid_ticket(order__event=event)
    ticket_with_status(OrderStatus.RESERVED, event=event)
    for ticket in used:
        scan(ticket.external_id)
    scan(used[0].external_id)  # a second use still counts one ticket

    response = admin_client.get("/admin/scanning/eventcheckin/")

    assert response.status_code == 200
    page = response.content.decode()
    row = page[page.index("Vårbalen") :]
    row = row[: row.index("</tr>")]
    assert '<td class="field-admitted">2</td>' in row
    assert '<td class="field-sold">5</td>' in row


def test_scan_log_page_filters_by_event(admin_client, scan):
    event = ChapterEventFactory()
    ticket = paid_ticket(order__event=event)
    other = paid_ticket()
    scan(ticket.external_id)
    scan(other.external_id)

    response = admin_client.get(f"/admin/scanning/scanlog/?event__id__exact={event.pk}")

    assert response.status_code == 200
    page = response.content.decode()
    assert ticket.external_id in page
    assert other.external_id not in page


def test_scan_log_page_lists_only_conflicts_when_asked(admin_client, scan):
    from ticketshop.scanning.models import ScanLog

    conflicting = paid_ticket()
    fine = paid_ticket()
    scan(conflicting.external_id)
    scan(fine.external_id)
    ScanLog.objects.filter(ticket=conflicting).update(
        conflict=True, offline_key="k" * 32, offline_result="green"
    )

    response = admin_client.get("/admin/scanning/scanlog/?conflict__exact=1")

    assert response.status_code == 200
    page = response.content.decode()
    assert conflicting.external_id in page
    assert fine.external_id not in page
