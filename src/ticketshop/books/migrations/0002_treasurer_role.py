"""The books' pages for the roles of the back office: the organiser and the
treasurer see and change the bookkeeping settings, see the receipts and
handle invoice requests."""

from django.db import migrations

PERMISSIONS = [
    "view_organiser",
    "change_organiser",
    "view_receipt",
    "view_invoicerequest",
    "change_invoicerequest",
]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    wanted = Permission.objects.filter(
        content_type__app_label="books", codename__in=PERMISSIONS
    )
    for group in Group.objects.filter(name__in=["organiser", "treasurer"]):
        group.permissions.add(*wanted)


class Migration(migrations.Migration):
    dependencies = [
        ("books", "0001_initial"),
        ("backoffice", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
