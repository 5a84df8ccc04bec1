"""Staff roles: agent < supervisor < admin. Every `is_staff` user is at least an agent;
membership of the Django group "supervisor" or "admin" (or being a superuser) raises
it. Groups rather than a field: operators manage them in /admin/ like any permission,
and the admin-site permissions for reply templates hang off the same groups."""

from collections.abc import Callable
from enum import IntEnum
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest


class Role(IntEnum):
    AGENT = 1  # works cases: claim, reply, note, contact, new arrival, escalate, resolve
    SUPERVISOR = 2  # also assigns, bulk actions, templates, incidents, the calendar editor
    ADMIN = 3  # everything


GROUP_OF = {Role.SUPERVISOR: "supervisor", Role.ADMIN: "admin"}


def staff_role(user) -> Role | None:
    """The user's role, or None for anyone who is not staff. Cached on the user object
    (one query per request, whatever the number of checks)."""
    if not (user and user.is_authenticated and user.is_staff and user.is_active):
        return None
    cached = getattr(user, "_staff_role", None)
    if cached is not None:
        return cached
    if user.is_superuser:
        role = Role.ADMIN
    else:
        names = set(user.groups.filter(name__in=GROUP_OF.values()).values_list("name", flat=True))
        role = Role.ADMIN if GROUP_OF[Role.ADMIN] in names else (
            Role.SUPERVISOR if GROUP_OF[Role.SUPERVISOR] in names else Role.AGENT)
    user._staff_role = role
    return role


def has_role(user, role: Role) -> bool:
    current = staff_role(user)
    return current is not None and current >= role


def role_required(role: Role) -> Callable:
    """Anonymous users go to the login page; merchants and staff below `role` get 403."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, role):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.staff_role = role  # read by the role-matrix test
        return wrapped

    return decorate


# Any staff member (the old `staff_required`).
staff_required = role_required(Role.AGENT)


def roles_ensure_groups() -> dict[Role, object]:
    """The "supervisor" and "admin" groups, with the admin-site permissions on reply
    templates (run after migrate: permissions exist only then). Idempotent."""
    from django.contrib.auth.models import Group, Permission

    perms = list(Permission.objects.filter(content_type__app_label="settlement", content_type__model="replytemplate"))
    groups = {}
    for role, name in GROUP_OF.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.add(*perms)
        groups[role] = group
    return groups
