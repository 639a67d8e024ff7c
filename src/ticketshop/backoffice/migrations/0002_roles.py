"""The roles: Django groups with their permissions.

- Organiser: everything of the shop (events, orders, refunds, exports,
  mailings, scanner accounts).
- Treasurer: the dashboard, refunds and exchanges, find and fix, exports
  and bookkeeping; reads events and orders, never edits an event.
- Door manager: scanner accounts, check-in figures and the door list.
"""

from django.db import migrations

SHOP_APPS = [
    "events",
    "orders",
    "books",
    "payments",
    "delivery",
    "scanning",
    "backoffice",
]

TREASURER = [
    ("backoffice", "view_dashboard"),
    ("backoffice", "refund_orders"),
    ("backoffice", "exchange_orders"),
    ("backoffice", "fix_orders"),
    ("backoffice", "export_data"),
    ("backoffice", "view_door_list"),
    ("backoffice", "view_auditentry"),
    ("backoffice", "view_salesoverview"),
    ("backoffice", "view_mailing"),
    ("backoffice", "view_outgoingmail"),
    ("events", "view_chapterevent"),
    ("events", "view_tickettype"),
    ("events", "view_ticketoffer"),
    ("orders", "view_order"),
    ("orders", "change_order"),
    ("orders", "view_ticket"),
    ("payments", "view_swishpayment"),
    ("payments", "view_swishrefund"),
    ("delivery", "view_ticketdelivery"),
]

DOOR_MANAGER = [
    ("backoffice", "view_door_list"),
    ("scanning", "add_scanneraccount"),
    ("scanning", "change_scanneraccount"),
    ("scanning", "delete_scanneraccount"),
    ("scanning", "view_scanneraccount"),
    ("scanning", "view_scanlog"),
    ("scanning", "view_eventcheckin"),
    ("events", "view_chapterevent"),
]

ROLES = {"organiser": None, "treasurer": TREASURER, "door manager": DOOR_MANAGER}


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are made after migrating; make them now to hand them out.
    # (Also called by the tests with the real registry, after a flush.)
    for app_config in apps.get_app_configs():
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = models_module
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        if perms is None:
            wanted = Permission.objects.filter(content_type__app_label__in=SHOP_APPS)
        else:
            wanted = [
                Permission.objects.get(content_type__app_label=app, codename=code)
                for app, code in perms
            ]
        group.permissions.set(wanted)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLES)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("events", "0001_initial"),
        ("orders", "0003_lifecycle"),
        ("payments", "0001_initial"),
        ("delivery", "0002_ticketdelivery_with_receipt"),
        ("scanning", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
