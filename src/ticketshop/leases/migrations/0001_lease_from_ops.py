"""The Lease model moves from ops to leases; its table, ops_lease, stays as it
is (state only: no statement runs)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("ops", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Lease",
                    fields=[
                        (
                            "name",
                            models.CharField(
                                max_length=64, primary_key=True, serialize=False
                            ),
                        ),
                        ("last_run_at", models.DateTimeField()),
                        ("holder", models.CharField(blank=True, max_length=128)),
                    ],
                    options={"db_table": "ops_lease"},
                ),
            ],
            database_operations=[],
        ),
    ]
