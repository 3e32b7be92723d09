"""`manage.py set_role USERNAME ROLE [--cleared]`: give a user a role (and TLP:RED clearance)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tdp.roles import ROLES, assign_role


class Command(BaseCommand):
    """Set a user's role: analyst, lead, admin, or none; --cleared grants TLP:RED clearance."""

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", choices=[*ROLES, "none"])
        parser.add_argument("--cleared", action="store_true", help="may see TLP:RED intel")
        parser.add_argument("--create", action="store_true", help="create the user if missing")

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        user = user_model.objects.filter(username=options["username"]).first()
        if user is None:
            if not options["create"]:
                raise CommandError(f"no user {options['username']!r} (use --create)")
            user = user_model.objects.create_user(username=options["username"])
            self.stdout.write(f"created {user.username}; set a password with changepassword")
        role = None if options["role"] == "none" else options["role"]
        assign_role(user, role, cleared=options["cleared"])
        self.stdout.write(
            f"{user.username}: {role or 'no role'}{' (cleared)' if options['cleared'] else ''}"
        )
