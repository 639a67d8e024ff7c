"""What cancel, exchange and mass e-mail will do, as the snapshot their
"Yes" button commits (see ``ticketshop.previews``).

Each ``*_preview`` returns plain JSON data: ``form`` (what the organiser
chose) and what follows from it now (tickets, money). The view signs it for
the page; on "Yes" it rebuilds the preview from the snapshot's ``form`` and
acts only if the result is the same, so a change to the order since the
preview (another ticket cancelled, a price changed) is caught too.
"""

import hashlib
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy

from ticketshop.orders import lifecycle
from ticketshop.orders.models import Order, OrderStatus

from . import services


class CancelForm(forms.Form):
    """The tickets to cancel: at least one, each still valid."""

    ticket = forms.TypedMultipleChoiceField(
        coerce=int,
        error_messages={
            "required": gettext_lazy(
                "Tick at least one ticket: nothing is cancelled unless you choose it."
            ),
            "invalid_choice": gettext_lazy(
                "A ticket you ticked is no longer valid; tick again."
            ),
        },
    )

    def __init__(self, *args, live, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ticket"].choices = [(t.pk, t.external_id) for t in live]


def cancel_preview(order: Order, live, ticket_ids) -> dict:
    """What cancelling ``ticket_ids`` (of the ``live`` tickets) does now."""
    ids = sorted({int(i) for i in ticket_ids})
    chosen = [t for t in live if t.pk in ids]
    whole = len(chosen) == len(live)
    swish = order.status == OrderStatus.PAID and lifecycle.refund_expected(order)
    amount = order.total_price if whole else sum((t.price for t in chosen), Decimal())
    return {
        "form": {"order": order.pk, "tickets": ids},
        "live": sorted(t.pk for t in live),
        "status": order.status,
        "whole": whole,
        "swish": swish,
        "amount": str(Decimal(amount).quantize(Decimal("0.01"))),
    }


def exchange_preview(order: Order, live, *, event_id: int, type_map) -> dict:
    """What moving the ``live`` tickets to ``event_id`` with ``type_map``
    (old type id → new type id) does now: the money by the rule
    ``exchange`` itself applies (``lifecycle.exchange_money``: what was due
    at the door goes first, the rest is owed back)."""
    prices = services.exchange_prices(event_id=event_id, type_ids=type_map.values())
    new_total = sum((prices[type_map[t.ticket_type_id]] for t in live), Decimal())
    old_total = order.total_price
    money = lifecycle.exchange_money(order, old_total=old_total, new_total=new_total)
    cents = Decimal("0.01")
    return {
        "form": {
            "order": order.pk,
            "event": event_id,
            "types": sorted([int(k), int(v)] for k, v in type_map.items()),
        },
        "live": sorted(t.pk for t in live),
        "old": str(old_total),
        "new": str(Decimal(new_total).quantize(cents)),
        "difference": str(Decimal(money.difference).quantize(cents)),
        "due_before": str(order.due_at_door),
        "due_at_door": str(Decimal(money.due_at_door).quantize(cents)),
        "owed_back": str(Decimal(money.owed_back).quantize(cents)),
        "refund": money.owed_back > 0 and lifecycle.refund_expected(order),
    }


def mailing_preview(*, event_ids, subject: str, body: str, recipients) -> dict:
    """What the mass e-mail sends, and to whom (a digest of the addresses:
    a buyer added or gone since the preview asks for a new one)."""
    digest = hashlib.sha256("\n".join(sorted(recipients)).encode()).hexdigest()
    return {
        "form": {
            "events": sorted({int(e) for e in event_ids}),
            "subject": subject,
            "body": body,
        },
        "recipients": len(recipients),
        "digest": digest,
    }
