"""The Lease model moves to the leases app, which keeps its table ops_lease
(state only: no statement runs)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("ops", "0001_initial"),
        ("leases", "0001_lease_from_ops"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Lease")],
            database_operations=[],
        ),
    ]
