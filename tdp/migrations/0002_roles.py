"""Create the role groups (analyst, lead, admin) and the `cleared` group for TLP:RED.

Roles are checked by the product's pages themselves (`tdp.roles`); the Django admin's model
permissions for the admin role come in 0003. Permissions only exist after migrate, so the
`cleared` permission is created first.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = ("analyst", "lead", "admin")


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    cleared, _ = Group.objects.get_or_create(name="cleared")
    cleared.permissions.add(
        Permission.objects.get(content_type__app_label="tdp", codename="view_tlp_red")
    )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=(*ROLES, "cleared")).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tdp", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
