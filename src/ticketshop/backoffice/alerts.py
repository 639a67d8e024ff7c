"""E-mails to the organisers when money needs a person.

``money_not_accepted`` (payments) is sent when Swish took money for an order
the shop had given up and the order could not be completed: each organiser
gets one e-mail per payment through the outbox (``alert:<request id>:<to>``,
so a repeated recovery writes nothing new), in the shop's language, naming
the order, the amount and where to refund it.

Who: ORGANISER_ALERT_EMAILS, or else every active user with an e-mail
address who may refund orders (superusers and the "refund_orders"
permission).
"""

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from . import outbox

logger = logging.getLogger(__name__)


def list_alert_recipients() -> list[str]:
    """The organisers' addresses for alerts."""
    configured = [a for a in settings.ORGANISER_ALERT_EMAILS if a]
    if configured:
        return sorted(set(configured))
    users = (
        get_user_model()
        .objects.filter(is_active=True)
        .exclude(email="")
        .filter(
            Q(is_superuser=True)
            | Q(
                user_permissions__codename="refund_orders",
                user_permissions__content_type__app_label="backoffice",
            )
            | Q(
                groups__permissions__codename="refund_orders",
                groups__permissions__content_type__app_label="backoffice",
            )
        )
        .values_list("email", flat=True)
        .distinct()
    )
    return sorted(set(users))


def on_money_not_accepted(sender, order, payment, **kwargs) -> None:
    """Queue one e-mail per organiser about money the order did not take
    (in the caller's transaction)."""
    recipients = list_alert_recipients()
    if not recipients:
        logger.error(
            "order %s holds %s kr not accepted and no organiser address is "
            "known (ORGANISER_ALERT_EMAILS)",
            order.reference,
            payment.amount,
        )
        return
    link = settings.PUBLIC_BASE_URL + reverse(
        "admin:orders_order_change", args=[order.pk]
    )
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Money to refund: order %(ref)s") % {"ref": order.reference}
        body = "\n\n".join(
            [
                _(
                    "Swish paid %(amount)s kr (payment reference %(payref)s) "
                    "for order %(ref)s after the shop had given the order up, "
                    "and its seats could not be given back to it (sold to "
                    "others, the event has begun, or the order was cancelled)."
                )
                % {
                    "amount": payment.amount,
                    "payref": payment.payment_reference,
                    "ref": order.reference,
                },
                _(
                    "The buyer has been told that the payment arrived and "
                    "that the money will be paid back. Please refund it: "
                    "open the order, choose “Refund via Swish” and confirm."
                ),
                link,
            ]
        )
    for address in recipients:
        outbox.queue_mail(
            key=f"alert:{payment.request_id}:{address}",
            recipient=address,
            subject=subject,
            body=body,
            order=order,
        )
    logger.warning(
        "order %s: %s kr not accepted; %d organiser(s) e-mailed",
        order.reference,
        payment.amount,
        len(recipients),
    )
