"""The dashboard's figures and chart, its refresh during the show, and the
permission of each view per role."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.factories import event_with_types, reserve_tickets
from ticketshop.backoffice.chart import cumulative, sales_svg
from ticketshop.backoffice.selectors import event_figures
from ticketshop.orders.models import PaymentMethod, Ticket
from ticketshop.orders.services import TicketLine

from .conftest import issue, user_in

pytestmark = pytest.mark.django_db


class Session(dict):
    def set_expiry(self, value):
        self["expiry"] = value


def test_event_figures_count_sold_held_left_revenue_vat_and_admitted(
    organiser, show, settings
):
    settings.DELIVERY_VAT_RATE = "6"
    event, (standard, student) = show
    issue(organiser, event, {standard.pk: 2}, method=PaymentMethod.CASH)  # 398
    guest = issue(organiser, event, {student.pk: 1})  # complimentary, 0 kr
    reserve_tickets(
        session=Session(), event_id=event.pk, lines=[TicketLine(student.pk, 3)]
    )
    Ticket.objects.filter(order=guest).update(times_used=1)

    f = event_figures(event)
    assert (f.sold, f.held, f.left) == (3, 3, 4)
    assert f.complimentary == 1
    assert f.admitted == 1
    assert f.revenue == Decimal("398.00")
    assert f.vat == Decimal("22.53")  # 398 * 6/106
    assert f.net == Decimal("375.47")
    by_title = {t.title: t for t in f.types}
    assert by_title[standard.title].sold == 2
    assert by_title[student.title].sold == 1
    assert by_title[student.title].held == 3
    assert by_title[student.title].complimentary == 1


def test_the_chart_is_cumulative_by_hour_against_capacity():
    start = timezone.now().replace(minute=10) - timedelta(hours=5)
    sales = [
        (start, 2),
        (start + timedelta(minutes=20), 1),
        (start + timedelta(hours=3), 4),
    ]
    points, step = cumulative(sales)
    assert step == timedelta(hours=1)
    assert [p.total for p in points] == [0, 3, 3, 3, 7]
    svg = str(sales_svg(sales, capacity=10, title="Fysikalen <2026>"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "Fysikalen &lt;2026&gt;" in svg
    assert 'class="capacity"' in svg and 'class="sold"' in svg
    assert re.search(r'class="sold-total"[^>]*>7<', svg)
    by_day, step = cumulative([(start, 1), (start + timedelta(days=10), 1)])
    assert step == timedelta(days=1) and by_day[-1].total == 2


def test_dashboard_pages_show_the_chart_and_refresh_only_during_the_show(
    client, organiser
):
    later, (t1,) = event_with_types(prices=("100",), title="Vårkonsert")
    now, (t2,) = event_with_types(
        prices=("100",),
        title="Ikväll",
        event_at=timezone.now() + timedelta(minutes=20),
        sales_stop_at=timezone.now() + timedelta(minutes=10),
    )
    issue(organiser, now, {t2.pk: 2})
    client.force_login(organiser)
    tonight = client.get(reverse("admin:backoffice_event", args=[now.pk]))
    html = tonight.content.decode()
    assert tonight.status_code == 200
    assert '<svg class="sales-chart"' in html
    assert 'http-equiv="refresh"' in html
    calm = client.get(reverse("admin:backoffice_event", args=[later.pk]))
    assert 'http-equiv="refresh"' not in calm.content.decode()
    overview = client.get(reverse("admin:backoffice_dashboard"))
    assert overview.status_code == 200
    assert "Vårkonsert" in overview.content.decode()
    assert '<svg class="sales-chart"' in overview.content.decode()
    # The admin index lists the back office.
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:backoffice_salesoverview_changelist") in index


def _urls(event, order):
    return {
        "dashboard": reverse("admin:backoffice_dashboard"),
        "event": reverse("admin:backoffice_event", args=[event.pk]),
        "issue": reverse("admin:backoffice_issue", args=[event.pk]),
        "cancel": reverse("admin:backoffice_cancel", args=[order.pk]),
        "exchange": reverse("admin:backoffice_exchange", args=[order.pk]),
        "find": reverse("admin:backoffice_find"),
        "fix": reverse("admin:backoffice_fix", args=[order.pk]),
        "csv": reverse("admin:backoffice_attendees", args=[event.pk, "csv"]),
        "bookkeeping": reverse("admin:backoffice_bookkeeping"),
        "door_list": reverse("admin:backoffice_door_list", args=[event.pk]),
        "mailing": reverse("admin:backoffice_mailing"),
        "refunds": reverse("admin:backoffice_refunds"),
        "event_change": reverse("admin:events_chapterevent_change", args=[event.pk]),
        "scanners": reverse("admin:scanning_scanneraccount_add"),
    }


ALLOWED = {
    "organiser": set(
        "dashboard event issue cancel exchange find fix csv bookkeeping door_list "
        "mailing refunds event_change scanners".split()
    ),
    # The event's page opens read-only for them (saving it is 403, below).
    "treasurer": set(
        "dashboard event cancel exchange find fix csv bookkeeping door_list refunds "
        "event_change".split()
    ),
    "door manager": {"event", "door_list", "scanners", "event_change"},
    None: set(),
}


@pytest.mark.parametrize("role", list(ALLOWED))
def test_each_view_checks_its_permission_per_role(client, organiser, show, role):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 1})
    user = user_in(role, f"user-{role or 'none'}".replace(" ", "-"))
    client.force_login(user)
    for name, url in _urls(event, order).items():
        status = client.get(url).status_code
        if name in ALLOWED[role]:
            assert status == 200, (role, name, status)
        else:
            assert status == 403, (role, name, status)


def test_treasurer_cannot_save_an_event(client, organiser, show, treasurer):
    event, _ = show
    client.force_login(treasurer)
    url = reverse("admin:events_chapterevent_change", args=[event.pk])
    response = client.post(url, {"title": "Changed"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.title == "Fysikalen 2026"
