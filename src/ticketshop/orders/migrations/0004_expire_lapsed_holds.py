"""Record the lapsed holds that exist before this version as expired.

From now on a reservation sweeps its event's lapsed holds under the seat lock
(orders.lifecycle.expire_lapsed); this does it once for the backlog, so that
the first reservation of a big event does not, and so that PostgreSQL's
statistics see the partial index of live orders as small. Same rule as the
sweep: reserved, no payment in progress, expired.
"""

from django.db import migrations
from django.utils import timezone


def expire_backlog(apps, schema_editor):
    Order = apps.get_model("orders", "Order")
    Order.objects.filter(
        status="RESERVED", payment_pending=False, expires_at__lte=timezone.now()
    ).update(status="FAILED_EXPIRED_RESERVATION")
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE " + schema_editor.quote_name(Order._meta.db_table)
            )


class Migration(migrations.Migration):
    dependencies = [("orders", "0003_lifecycle")]

    operations = [migrations.RunPython(expire_backlog, migrations.RunPython.noop)]
