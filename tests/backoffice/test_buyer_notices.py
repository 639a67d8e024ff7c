"""The buyer's e-mails after an organiser's change say what happened: which
codes no longer open the door, which still do, and what money moves, in the
buyer's language."""

from decimal import Decimal

import pytest

from tests.delivery.conftest import run_worker
from tests.factories import event_with_types
from tests.payments.conftest import buyer, swish, swish_without_worker, wait_for  # noqa: F401
from ticketshop.backoffice import services
from ticketshop.delivery.models import TicketDelivery
from ticketshop.orders.models import Order, OrderStatus

from .conftest import issue

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = {
    "en": {
        "void_one": "This code no longer opens the door: {codes}.",
        "void_all": "These codes no longer open the door: {codes}.",
        "valid": "These tickets still work as before: {codes}.",
        "none_valid": "No ticket of this order opens the door any more.",
        "refund": "{amount} kr is paid back to the Swish account you paid from",
        "old_void": "The old code no longer opens the door: {codes}.",
        "new": "Your new ticket, {codes}, comes in a separate e-mail",
        "due": "The new tickets cost 100.00 kr more; it is to be paid at the door.",
        "intro": "after the organiser changed your order",
    },
    "sv": {
        "void_one": "Den här koden släpper inte längre in någon: {codes}.",
        "void_all": "De här koderna släpper inte längre in någon: {codes}.",
        "valid": "De här biljetterna gäller fortfarande som förut: {codes}.",
        "none_valid": "Ingen biljett i den här ordern gäller längre.",
        "refund": "{amount} kr betalas tillbaka till Swish-kontot du betalade från",
        "old_void": "Den gamla koden släpper inte längre in någon: {codes}.",
        "new": "Din nya biljett, {codes}, kommer i ett separat e-postmeddelande",
        "due": "De nya biljetterna kostar 100,00 kr mer; det betalas i dörren.",
        "intro": "efter att arrangören ändrat din order",
    },
}
AMOUNT = {"en": lambda a: a, "sv": lambda a: a.replace(".", ",")}


def paid_by_swish(buyer, event, ticket_type, language) -> Order:  # noqa: F811
    token = buyer.reserved_and_started(event, ticket_type, count=3)
    assert buyer.pay(token).status_code == 200
    order = wait_for(lambda: Order.objects.filter(status=OrderStatus.PAID).first())
    Order.objects.filter(pk=order.pk).update(language=language)
    run_worker()  # the purchase's own ticket e-mail
    return order


def notice(mailoutbox, reference):
    (mail,) = [m for m in mailoutbox if reference in m.subject and not m.attachments]
    return " ".join(mail.body.split())


@pytest.mark.parametrize("language", ["en", "sv"])
def test_a_partial_cancel_names_the_void_code_the_valid_ones_and_the_refund(
    buyer,  # noqa: F811
    show,
    organiser,
    mailoutbox,
    language,
):
    event, (standard, _) = show
    order = paid_by_swish(buyer, event, standard, language)
    first, *rest = order.tickets.order_by("pk")
    mailoutbox.clear()
    services.cancel_tickets(user=organiser, order_id=order.pk, ticket_ids=[first.pk])
    run_worker()
    body = notice(mailoutbox, order.reference)
    words = WORDS[language]
    assert words["void_one"].format(codes=first.external_id) in body
    codes = ", ".join(t.external_id for t in rest)
    assert words["valid"].format(codes=codes) in body
    assert words["refund"].format(amount=AMOUNT[language]("199.00")) in body


@pytest.mark.parametrize("language", ["en", "sv"])
def test_a_full_cancel_with_refund_names_every_void_code_and_the_amount(
    buyer,  # noqa: F811
    show,
    organiser,
    mailoutbox,
    language,
):
    event, (standard, _) = show
    order = paid_by_swish(buyer, event, standard, language)
    tickets = list(order.tickets.order_by("pk"))
    mailoutbox.clear()
    services.cancel_order(user=organiser, order_id=order.pk)
    run_worker()
    body = notice(mailoutbox, order.reference)
    words = WORDS[language]
    codes = ", ".join(t.external_id for t in tickets)
    assert words["void_all"].format(codes=codes) in body
    assert words["none_valid"] in body
    assert words["refund"].format(amount=AMOUNT[language]("597.00")) in body


@pytest.mark.parametrize("language", ["en", "sv"])
def test_an_exchange_says_where_to_which_codes_are_void_and_what_is_due(
    show, organiser, mailoutbox, language
):
    event, (standard, _) = show
    saturday, (dear,) = event_with_types(seats=5, prices=("299",), title="Lördag")
    order = issue(organiser, event, {standard.pk: 1}, method="CASH")
    # The buyer's language, as if the order had been made in it.
    Order.objects.filter(pk=order.pk).update(language=language)
    TicketDelivery.objects.filter(order=order).update(language=language)
    (old,) = order.tickets.all()
    run_worker()
    mailoutbox.clear()
    result = services.exchange_order(
        user=organiser,
        order_id=order.pk,
        event_id=saturday.pk,
        type_map={standard.pk: dear.pk},
    )
    assert result.difference == Decimal("100")
    run_worker()
    (new,) = order.tickets.filter(cancelled_at__isnull=True)
    body = notice(mailoutbox, order.reference)
    words = WORDS[language]
    assert "Lördag" in body and event.title in body
    assert words["old_void"].format(codes=old.external_id) in body
    assert words["new"].format(codes=new.external_id) in body
    assert words["due"] in body
    # The ticket e-mail that carries the new code is no "thank you for your
    # purchase".
    (tickets,) = [m for m in mailoutbox if m.attachments]
    assert words["intro"] in " ".join(tickets.body.split())
    assert new.external_id in tickets.body
