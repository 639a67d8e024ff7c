"""The organisers' order page, composed from what each app adds to it.

payments, delivery and backoffice each expose ``order_admin_actions``,
``order_admin_inlines``, ``order_admin_list_filters`` and
``order_admin_readonly_fields`` in their admin modules; orders itself never
imports them.
"""

from django.contrib import admin

from ticketshop.backoffice import admin as backoffice_admin
from ticketshop.delivery import admin as delivery_admin
from ticketshop.orders.admin import OrderAdmin
from ticketshop.orders.models import Order
from ticketshop.payments import admin as payments_admin

_parts = [payments_admin, delivery_admin, backoffice_admin]


def _collect(name: str) -> list:
    return [item for part in _parts for item in getattr(part, name, [])]


class ShopOrderAdmin(OrderAdmin):
    actions = [*(OrderAdmin.actions or []), *_collect("order_admin_actions")]
    inlines = [*OrderAdmin.inlines, *_collect("order_admin_inlines")]
    list_filter = [*OrderAdmin.list_filter, *_collect("order_admin_list_filters")]
    readonly_fields = [
        *OrderAdmin.readonly_fields,
        *_collect("order_admin_readonly_fields"),
    ]
    # Shown on the page too (OrderAdmin names its fields).
    fields = [*OrderAdmin.fields, *_collect("order_admin_readonly_fields")]


admin.site.unregister(Order)
admin.site.register(Order, ShopOrderAdmin)
