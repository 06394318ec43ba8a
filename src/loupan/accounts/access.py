"""The one permission check (views, API, services, templates all call it).

``has_perm(user, "project.change", project)`` is true when one of the user's roles on
that project grants the code. The user's grants are loaded once per user object (one
query) and cached on it.
"""

from collections import defaultdict

from loupan.core.errors import ErrorCode, PermissionDenied

from .models import Membership
from .permissions import PERMISSIONS, label

_CACHE_ATTR = "_loupan_grants"


def scope_of(obj):
    """The project id that scopes ``obj`` (a Project, an id, or an object with a
    ``project_id``); None for company-wide objects, which any project's grant covers."""
    if obj is None or isinstance(obj, int):
        return obj
    if obj._meta.label == "inventory.Project":
        return obj.pk
    return getattr(obj, "project_id", None)


_project_id = scope_of


def _load(user) -> tuple[dict[int, set[str]], dict[int, set[str]]]:
    """The user's permission codes and role codes per project, in one query, cached on
    the user object for the request."""
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is not None:
        return cached
    perms: dict[int, set[str]] = defaultdict(set)
    roles: dict[int, set[str]] = defaultdict(set)
    for project_id, codes, role in Membership.objects.filter(
        user=user, project__is_active=True
    ).values_list("project_id", "role__permissions", "role__code"):
        perms[project_id].update(codes or [])
        roles[project_id].add(role)
    result = (dict(perms), dict(roles))
    setattr(user, _CACHE_ATTR, result)
    return result


def grants(user) -> dict[int, set[str]]:
    """``{project_id: {permission codes}}`` for an active user."""
    if user is None or not user.is_authenticated or not user.is_active:
        return {}
    return _load(user)[0]


def clear_cache(user) -> None:
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def perms_in(user, project) -> set[str]:
    if user is not None and user.is_authenticated and user.is_superuser:
        return set(PERMISSIONS)
    return grants(user).get(_project_id(project), set())


def has_perm(user, code: str, project=None) -> bool:
    """True when ``user`` holds ``code`` on ``project`` (on any project when None)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    project_id = scope_of(project)
    if project_id is None:
        return any(code in perms for perms in grants(user).values())
    return code in grants(user).get(project_id, set())


def role_codes(user, project) -> set[str]:
    """The codes of the roles ``user`` holds on ``project`` (approval levels)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return set()
    return set(_load(user)[1].get(scope_of(project), set()))


def projects_with(user, code: str) -> list[int]:
    return sorted(pid for pid, perms in grants(user).items() if code in perms)


def permission_error(code: str) -> PermissionDenied:
    """The domain's permission error (403) naming the permission that is missing."""
    return PermissionDenied(f"{PermissionDenied(None).message}：{label(code)}")


def require_perm(user, code: str, project=None) -> None:
    """Raise the domain's permission error (403) unless the user holds ``code``."""
    if not has_perm(user, code, project):
        raise permission_error(code)


__all__ = [
    "ErrorCode",
    "grants",
    "has_perm",
    "perms_in",
    "permission_error",
    "projects_with",
    "role_codes",
    "require_perm",
    "scope_of",
]


def members_with(project, code: str):
    """The project's active members one of whose roles there grants ``code`` (who may
    follow a complaint, whose figures a report lists), ordered by name."""
    from django.contrib.auth import get_user_model

    rows = Membership.objects.filter(
        project_id=scope_of(project), user__is_active=True
    ).values_list("user_id", "role__permissions")
    ids = {user_id for user_id, codes in rows if code in (codes or [])}
    return get_user_model().objects.filter(pk__in=ids).order_by("real_name", "username")
