"""Give the admin role the model permissions the Django admin needs (users, groups, intel, audit).

The product's own pages check roles, not model permissions; the Django admin (`/django-admin/`)
checks both, so without these the admin role saw an empty admin. Intel and audit models are
registered read-only there (changes go through the audited pages), so "view" is what counts.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

FULL_APPS = ("auth", "authtoken")
VIEW_APPS = ("intel", "tdp", "django_rq")


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="admin")
    admin.permissions.add(*Permission.objects.filter(content_type__app_label__in=FULL_APPS))
    admin.permissions.add(
        *Permission.objects.filter(
            content_type__app_label__in=VIEW_APPS, codename__startswith="view_"
        ).exclude(codename="view_tlp_red")  # clearance is granted per person, never by role
    )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    admin = Group.objects.filter(name="admin").first()
    if admin:
        admin.permissions.clear()


class Migration(migrations.Migration):
    dependencies = [
        ("tdp", "0002_roles"),
        ("intel", "0003_feeds"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("django_rq", "0003_alter_dashboard_permission_names"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
