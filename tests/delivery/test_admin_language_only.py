"""The order page's ticket e-mail inline saves only the language, so a page
loaded before the worker recorded a send does not put the old state back."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import RequestFactory
from django.utils import timezone

from ticketshop.delivery.admin import TicketDeliveryInline
from ticketshop.delivery.models import DeliveryStatus, TicketDelivery
from ticketshop.orders.models import Order

from .conftest import mark_paid, reserve

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_stale_page_changes_the_language_and_leaves_the_state():
    order = mark_paid(reserve())
    delivery = TicketDelivery.objects.get(order=order)
    request = RequestFactory().post("/")
    request.user = User.objects.create_superuser("kim", "kim@example.org", "pw")
    inline = TicketDeliveryInline(Order, admin.site)
    formset_class = inline.get_formset(request, order)
    prefix = formset_class.get_default_prefix()
    formset = formset_class(
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-INITIAL_FORMS": "1",
            f"{prefix}-MIN_NUM_FORMS": "0",
            f"{prefix}-MAX_NUM_FORMS": "1",
            f"{prefix}-0-id": str(delivery.pk),
            f"{prefix}-0-order": str(order.pk),
            f"{prefix}-0-language": "en",
        },
        instance=order,
        prefix=prefix,
    )
    assert formset.is_valid(), formset.errors  # the page's copy: PENDING
    # Meanwhile the worker sends it.
    TicketDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), times_sent=1
    )
    formset.save()
    delivery.refresh_from_db()
    assert delivery.language == "en"
    assert delivery.status == DeliveryStatus.SENT
    assert delivery.times_sent == 1
