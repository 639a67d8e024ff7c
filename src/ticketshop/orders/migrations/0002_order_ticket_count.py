from django.db import migrations, models
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce


def fill_ticket_count(apps, schema_editor):
    """Give every existing order the number of its tickets."""
    Order = apps.get_model("orders", "Order")
    Ticket = apps.get_model("orders", "Ticket")
    db = schema_editor.connection.alias
    counts = (
        Ticket.objects.using(db)
        .filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(n=Count("id"))
        .values("n")
    )
    Order.objects.using(db).update(ticket_count=Coalesce(Subquery(counts), 0))


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="ticket_count",
            field=models.PositiveIntegerField(default=0, verbose_name="tickets"),
        ),
        migrations.RunPython(fill_ticket_count, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="order",
            name="orders_orde_event_i_b440a0_idx",
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                fields=[
                    "event",
                    "status",
                    "expires_at",
                    "payment_pending",
                    "ticket_count",
                ],
                name="order_live_seats_idx",
            ),
        ),
    ]
