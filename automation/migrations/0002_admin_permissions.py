"""Let the admin role configure HTTP enrichers in the Django admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["add_httpenricher", "change_httpenricher", "delete_httpenricher", "view_httpenricher"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="admin")
    admin.permissions.add(
        *Permission.objects.filter(content_type__app_label="automation", codename__in=CODENAMES)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin = Group.objects.filter(name="admin").first()
    if admin:
        admin.permissions.remove(*Permission.objects.filter(content_type__app_label="automation"))


class Migration(migrations.Migration):
    dependencies = [("automation", "0001_initial"), ("tdp", "0003_admin_permissions")]

    operations = [migrations.RunPython(grant, revoke)]
