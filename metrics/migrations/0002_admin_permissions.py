"""Let the admin role browse the metrics refresh runs and weekly reports in the Django admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CODENAMES = ["view_rolluprun", "view_weeklyreport"]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="admin")
    admin.permissions.add(
        *Permission.objects.filter(content_type__app_label="metrics", codename__in=CODENAMES)
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin = Group.objects.filter(name="admin").first()
    if admin:
        admin.permissions.remove(
            *Permission.objects.filter(content_type__app_label="metrics", codename__in=CODENAMES)
        )


class Migration(migrations.Migration):
    dependencies = [("metrics", "0001_rollups"), ("tdp", "0003_admin_permissions")]

    operations = [migrations.RunPython(grant, revoke)]
