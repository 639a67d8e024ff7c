"""Money collected at the door names the scanner account in the order's
history; the same in the back office names the staff member."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.backoffice.test_due_at_door import (  # noqa: F401 - fixtures
    collect,
    fast_hasher,
    forget_verified_credentials,
    owing,
    scan,
    scanner_account,
    ticket_ids,
)
from ticketshop.orders.lifecycle import ORDER

pytestmark = pytest.mark.django_db


def test_the_door_names_the_scanner_account(scan, scanner_account, owing):  # noqa: F811
    first, _ = ticket_ids(owing)
    assert collect(first).status_code == 200
    last = list(ORDER.history(owing.pk))[-1]
    assert (last.transition, last.actor) == (
        "collect_at_door",
        f"staff:{scanner_account.name}",
    )


def test_the_back_office_names_the_staff_member(client, organiser, owing):  # noqa: F811
    client.force_login(organiser)
    url = reverse("admin:backoffice_collect", args=[owing.pk])
    page = client.get(url)
    key = page.context["key"] if page.context and "key" in page.context else "k-0001"
    client.post(url, {"amount": "100", "method": "CASH", "key": key})
    owing.refresh_from_db()
    assert owing.due_at_door == Decimal("0")
    last = list(ORDER.history(owing.pk))[-1]
    assert (last.transition, last.actor) == ("collect_at_door", "staff:organiser")
