"""Let the admin role configure reason codes and browse cases in the Django admin."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="admin")
    admin.permissions.add(
        *Permission.objects.filter(
            content_type__app_label="cases",
            codename__in=["add_reasoncode", "change_reasoncode", "view_reasoncode", "view_case"],
        )
    )


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    admin = Group.objects.filter(name="admin").first()
    if admin:
        admin.permissions.remove(*Permission.objects.filter(content_type__app_label="cases"))


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_seed_reason_codes"), ("tdp", "0003_admin_permissions")]

    operations = [migrations.RunPython(grant, revoke)]
