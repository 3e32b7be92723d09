"""Roles (analyst < lead < admin) and TLP:RED clearance: the access rules in one place.

Roles are Django groups created by a data migration. A higher role includes the lower ones, so a
lead may do everything an analyst may. Superusers count as admins. Clearance for TLP:RED intel is
the separate permission `tdp.view_tlp_red`, granted per user (or through the `cleared` group).
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from rest_framework.permissions import BasePermission

ANALYST = "analyst"
LEAD = "lead"
ADMIN = "admin"
CLEARED_GROUP = "cleared"
ROLES = (ANALYST, LEAD, ADMIN)
_RANK = {ANALYST: 1, LEAD: 2, ADMIN: 3}
CLEARANCE_PERMISSION = "tdp.view_tlp_red"


def role_rank(user: Any) -> int:
    """Return the user's highest role rank: 0 none, 1 analyst, 2 lead, 3 admin."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return 0
    if user.is_superuser:
        return _RANK[ADMIN]
    cached = getattr(user, "_tdp_role_rank", None)
    if cached is None:
        names = set(user.groups.values_list("name", flat=True))
        cached = max((_RANK[name] for name in names if name in _RANK), default=0)
        user._tdp_role_rank = cached
    return cached


def has_role(user: Any, role: str) -> bool:
    """True when the user holds `role` or a higher one."""
    return role_rank(user) >= _RANK[role]


def role_name(user: Any) -> str:
    """The user's highest role name, or "" when they have none."""
    rank = role_rank(user)
    return next((name for name, value in _RANK.items() if value == rank), "")


def is_cleared(user: Any) -> bool:
    """True when the user may see TLP:RED intel."""
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(CLEARANCE_PERMISSION)


def role_required(role: str) -> Callable:
    """View decorator: 403 unless the logged-in user holds `role` (or higher).

    Anonymous users never get here: LoginRequiredMiddleware sends them to the login page first.
    """

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not has_role(request.user, role):
                raise PermissionDenied(f"This page needs the {role} role.")
            return view(request, *args, **kwargs)

        # functools.wraps copies the wrapped view's attributes; a role always needs a login,
        # even around third-party views (the admin's) that opt out of LoginRequiredMiddleware.
        wrapper.login_required = True
        wrapper.login_url = None  # our login page, not a wrapped view's own (the admin's)
        return wrapper

    return decorator


def assign_role(user: Any, role: str | None, *, cleared: bool = False, actor: Any = None) -> None:
    """Give `user` exactly one role (or none) and set their TLP:RED clearance, audited.

    Admins are also staff, which the Django admin and the RQ dashboard require.
    """
    from django.contrib.auth.models import Group
    from django.db import transaction

    from tdp import audit

    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    with transaction.atomic():
        before = {"role": role_name(user), "cleared": is_cleared(user), "is_staff": user.is_staff}
        user.groups.remove(*Group.objects.filter(name__in=(*ROLES, CLEARED_GROUP)))
        if role:
            user.groups.add(Group.objects.get(name=role))
        if cleared:
            user.groups.add(Group.objects.get(name=CLEARED_GROUP))
        user.is_staff = role == ADMIN
        user.save(update_fields=["is_staff"])
        for cache in ("_tdp_role_rank", "_perm_cache", "_group_perm_cache"):
            user.__dict__.pop(cache, None)
        after = {"role": role or "", "cleared": cleared, "is_staff": user.is_staff}
        audit.record("user.role", user, actor=actor, changes=audit.diff(before, after))


def roles_context(request: HttpRequest) -> dict[str, Any]:
    """Template context: which role-gated navigation entries the user may see."""
    user = getattr(request, "user", None)
    return {
        "is_analyst": has_role(user, ANALYST),
        "is_lead": has_role(user, LEAD),
        "is_admin": has_role(user, ADMIN),
        "is_cleared": is_cleared(user),
        "user_role": role_name(user),
    }


class _RolePermission(BasePermission):
    """DRF permission: the same role rules as the pages."""

    role = ANALYST
    message = "You need the analyst role to use the API."

    def has_permission(self, request: Any, view: Any) -> bool:
        return has_role(request.user, self.role)


class IsAnalyst(_RolePermission):
    """API access for analysts and above."""

    role = ANALYST


class IsLead(_RolePermission):
    """API access for leads and admins."""

    role = LEAD
    message = "You need the lead role for this."


class IsAdmin(_RolePermission):
    """API access for admins only."""

    role = ADMIN
    message = "You need the admin role for this."
