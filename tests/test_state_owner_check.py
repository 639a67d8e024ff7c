"""The owner checker (tests/state_owner_check.py) finds each kind of write,
so an owner test cannot pass by finding nothing, and leaves reads and other
models alone."""

import pytest

from tests.state_owner_check import model_words, violations


def test_the_words_of_a_model():
    assert model_words("TicketDelivery") == {"ticket_delivery", "delivery"}
    assert model_words("OutgoingMail") == {"outgoing_mail", "mail"}


@pytest.mark.parametrize(
    "snippet",
    [
        "delivery.status = DeliveryStatus.SENT",
        "self.delivery.status = 'SENT'",
        "order.ticket_delivery.status = 'SENT'",
        "locked_delivery.status += ''",
        "delivery.status, x = 'SENT', 1",
        "setattr(delivery, 'status', 'SENT')",
        "TicketDelivery.objects.filter(pk=1).update(status='SENT')",
        "TicketDelivery.objects.filter(pk=1).update(**changes)",
        "deliveries.update(status='SENT')",
        "row = TicketDelivery.objects.get(pk=1)\nrow.status = 'SENT'",
        "for row in TicketDelivery.objects.all():\n    row.status = 'SENT'",
        "row, new = TicketDelivery.objects.get_or_create(order=o)\nrow.status = 1",
        "delivery.save(update_fields=['status', 'updated_at'])",
        "TicketDelivery.objects.bulk_update(rows, ['status'])",
        "TicketDelivery.objects.bulk_update(rows, fields=['status'])",
        "TicketDelivery.objects.create(order=order, status='SENT')",
        "TicketDelivery.objects.create(order=order)",
        "TicketDelivery.objects.update_or_create(order=o, defaults={'status': 'X'})",
        "TicketDelivery(order=order)",
    ],
)
def test_the_checker_finds_each_kind_of_write(snippet):
    assert violations(snippet, "TicketDelivery") != []


@pytest.mark.parametrize(
    "snippet",
    [
        "mail.status = MailStatus.SENT",
        "mailing.mails.update(status='SENT')",
        "OutgoingMail.objects.bulk_create([OutgoingMail(key='k')])",
        "rows = OutgoingMail.objects.filter(sent_at=None)\nrows.update(status='X')",
    ],
)
def test_the_checker_finds_writes_of_another_model(snippet):
    assert violations(snippet, "OutgoingMail") != []


@pytest.mark.parametrize(
    "snippet",
    [
        "order.status = OrderStatus.PAID",
        "payment.status = 'PAID'",
        "Order.objects.filter(pk=1).update(status='PAID')",
        "Order.objects.filter(ticket_delivery__status='SENT').update(status='X')",
        "SwishPayment.objects.create(order=order)",
        "delivery.language = 'en'",
        "delivery.save(update_fields=['language', 'updated_at'])",
        "TicketDelivery.objects.filter(pk=1).update(language='en')",
        "state = delivery.status",
        "TicketDelivery.objects.filter(status='SENT').count()",
        "email.status = 'x'",
        "mailing.status = 'x'",
    ],
)
def test_the_checker_leaves_reads_and_other_records_alone(snippet):
    assert violations(snippet, "TicketDelivery") == []


def test_a_violation_names_the_module_and_line():
    found = violations(
        "x = 1\ndelivery.status = 'SENT'\n", "TicketDelivery", name="a.py"
    )
    assert found == ["a.py:2: assigns delivery.status"]


def test_another_field_can_be_guarded():
    assert violations("delivery.state = 1", "TicketDelivery", field="state") != []
    assert violations("delivery.state = 1", "TicketDelivery") == []
