"""The audit trail: refunds logged as requested, then as settled by Swish;
a resend to the same address logged as a resend; actions and summaries in
the reader's language; times in the shop's zone; the scan log and the audit
log never deleted or edited from the admin, by anyone."""

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import translation

from tests.delivery.conftest import run_worker
from tests.payments.conftest import buyer, swish, swish_without_worker, wait_for  # noqa: F401
from ticketshop.backoffice import services
from ticketshop.backoffice.models import AuditEntry
from ticketshop.orders.models import Order, OrderStatus, RefundState
from ticketshop.payments.models import RefundStatus, SwishRefund
from ticketshop.payments.services import refresh_refund
from ticketshop.scanning.models import ScanLog, ScanResult

from .conftest import issue


def paid_by_swish(buyer, event, ticket_type, count=2) -> Order:  # noqa: F811
    token = buyer.reserved_and_started(event, ticket_type, count=count)
    assert buyer.pay(token).status_code == 200
    return wait_for(lambda: Order.objects.filter(status=OrderStatus.PAID).first())


@pytest.mark.django_db(transaction=True)
def test_refund_is_logged_as_requested_then_as_settled_by_swish(
    buyer,  # noqa: F811
    show,
    organiser,
):
    event, (standard, _) = show
    order = paid_by_swish(buyer, event, standard)
    services.cancel_order(user=organiser, order_id=order.pk, notify=False)

    requested = AuditEntry.objects.get(order=order, action="cancel")
    with translation.override("sv"):
        assert "återbetalt" not in requested.summary_text()
        assert "begärd" in requested.summary_text()
    with translation.override("en"):
        assert "requested" in requested.summary_text()
    assert not AuditEntry.objects.filter(action="refund_settled").exists()

    run_worker()
    refund = SwishRefund.objects.get()
    refresh_refund(refund=refund)
    refund.refresh_from_db()
    assert refund.status == RefundStatus.PAID
    order.refresh_from_db()
    assert order.refund_state == RefundState.REFUNDED

    settled = AuditEntry.objects.get(order=order, action="refund_settled")
    assert settled.username == "Swish"
    assert settled.after["refund"] == refund.refund_id
    with translation.override("sv"):
        assert settled.action_label() == "återbetalning utbetald"
        assert "398,00 kr" in settled.summary_text()
    with translation.override("en"):
        assert settled.action_label() == "refund paid back"
        assert "398.00 kr" in settled.summary_text()


@pytest.mark.django_db
def test_resending_to_the_same_address_is_logged_as_a_resend(show, organiser, client):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 1}, email="same@example.org")
    client.force_login(organiser)
    url = reverse("admin:backoffice_fix", args=[order.pk])
    assert client.post(url, {"email": "same@example.org"}).status_code == 302
    assert not AuditEntry.objects.filter(order=order, action="change_email").exists()
    assert AuditEntry.objects.filter(order=order, action="resend").count() == 1


@pytest.mark.django_db
def test_actions_and_summaries_read_in_the_readers_language(show, organiser, client):
    event, (standard, _) = show
    with translation.override("sv"):
        order = issue(organiser, event, {standard.pk: 1})
        services.cancel_order(user=organiser, order_id=order.pk, notify=False)
    client.force_login(organiser)
    page = client.get(
        reverse("admin:orders_order_change", args=[order.pk]),
        HTTP_ACCEPT_LANGUAGE="en",
    ).content.decode()
    assert "order cancelled" in page
    assert "Cancelled order" in page
    assert "Avbokade" not in page
    assert "cancel_tickets" not in page and ">cancel<" not in page
    swedish = client.get(
        reverse("admin:backoffice_auditentry_changelist"), HTTP_ACCEPT_LANGUAGE="sv"
    ).content.decode()
    assert "order avbokad" in swedish
    assert "Cancelled order" not in swedish


@pytest.mark.django_db
def test_audit_header_shows_the_shops_time_zone(show, organiser):
    event, (standard, _) = show
    order = issue(organiser, event, {standard.pk: 1})
    entry = AuditEntry.objects.get(order=order)
    entry.at = datetime(2027, 1, 15, 18, 30, tzinfo=UTC)
    # 18:30 UTC is 19:30 in Stockholm in winter.
    assert str(entry).startswith("2027-01-15 19:30 ")


@pytest.mark.django_db
def test_no_one_deletes_or_edits_the_scan_log_or_the_audit_log(show, organiser, client):
    event, (standard, _) = show
    issue(organiser, event, {standard.pk: 1})
    scan = ScanLog.objects.create(
        scanner_name="door 1",
        external_id="X",
        event=event,
        use_requested=True,
        result=ScanResult.UNKNOWN,
    )
    entry = AuditEntry.objects.first()
    boss = User.objects.create_superuser("boss", "b@example.org", "pw")
    for user in (organiser, boss):
        client.force_login(user)
        for model, obj in (
            ("scanning_scanlog", scan),
            ("backoffice_auditentry", entry),
        ):
            changelist = client.get(reverse(f"admin:{model}_changelist"))
            assert changelist.status_code == 200
            assert 'value="delete_selected"' not in changelist.content.decode()
            delete = reverse(f"admin:{model}_delete", args=[obj.pk])
            assert client.get(delete).status_code == 403
            assert client.post(delete, {"post": "yes"}).status_code == 403
            bulk = client.post(
                reverse(f"admin:{model}_changelist"),
                {
                    "action": "delete_selected",
                    "_selected_action": [obj.pk],
                    "post": "yes",
                },
            )
            assert bulk.status_code in (200, 302)
            change = reverse(f"admin:{model}_change", args=[obj.pk])
            assert 'name="_save"' not in client.get(change).content.decode()
    assert ScanLog.objects.filter(pk=scan.pk).exists()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
