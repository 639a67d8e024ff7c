from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                (
                    "name",
                    models.CharField(max_length=200, primary_key=True, serialize=False),
                ),
                ("window_start", models.FloatField()),
                ("window_end", models.FloatField(db_index=True)),
                ("hits", models.PositiveIntegerField()),
            ],
        ),
    ]
