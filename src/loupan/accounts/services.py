"""Writes on users, memberships and passwords (one transaction and audit entry each)."""

import secrets
import string

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from loupan.audit.models import AuditAction
from loupan.audit.services import audit_create, audit_record, audit_update
from loupan.core.errors import DomainError, ErrorCode, PermissionDenied
from loupan.core.services import lock, validate
from loupan.core.snapshot import snapshot

from . import access
from .models import Membership, Role, User

USER_FIELDS = ["username", "real_name", "mobile", "employee_no", "email", "language"]


def _check_password(password: str, user: User, field: str = "new_password") -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise DomainError(ErrorCode.INVALID, exc.messages[0], {field: exc.messages}) from exc


def _require_manage(actor, user: User) -> None:
    """Managing a user needs ``user.manage`` on a project the user belongs to (or the
    user belongs to none yet)."""
    if not User.objects.restrict(actor, "manage").filter(pk=user.pk).exists():
        raise PermissionDenied()


def user_create(*, actor, data: dict, project, role: Role, password: str) -> User:
    """A new staff account with its first role on ``project``; the password is a
    temporary one that must be changed at first login."""
    access.require_perm(actor, "user.manage", project)
    user = User(**{k: v for k, v in data.items() if k in USER_FIELDS})
    user.must_change_password = True
    validate(user, exclude=["password"])
    _check_password(password, user, "password")
    with transaction.atomic():
        user.set_password(password)
        user.save(force_insert=True)
        audit_create(actor=actor, obj=user)
        _grant(actor=actor, user=user, project=project, role=role)
    return user


def user_update(*, actor, user: User, data: dict) -> User:
    _require_manage(actor, user)
    with transaction.atomic():
        user = lock(user)
        before = snapshot(user)
        for name in USER_FIELDS:
            if name in data:
                setattr(user, name, data[name])
        validate(user, exclude=["password"])
        user.save()
        audit_update(actor=actor, obj=user, before=before)
    return user


# Who holds one of these manages others: only user managers may close their accounts.
MANAGING_PERMS = {"user.manage", "customer.assign"}


def may_offboard(actor, user: User) -> bool:
    """The supervisor who hands over a departing consultant's customers also closes the
    account (seed 002 北京 §4): ``customer.assign`` on every project the user belongs to,
    for a user who manages nobody."""
    memberships = list(Membership.objects.filter(user=user).select_related("role"))
    return bool(memberships) and all(
        not (set(m.role.permissions or []) & MANAGING_PERMS)
        and access.has_perm(actor, "customer.assign", m.project_id)
        for m in memberships
    )


def may_deactivate(actor, user: User, *, offboarding: bool = False) -> bool:
    if offboarding and may_offboard(actor, user):
        return True
    return User.objects.restrict(actor, "manage").filter(pk=user.pk).exists()


def user_set_active(*, actor, user: User, active: bool, offboarding: bool = False) -> User:
    """Deactivate a departing employee (never delete: their history stays attributed);
    a deactivated account loses its sessions and API tokens at once. ``offboarding``:
    called by the customers' handover, where the supervisor may close a consultant's
    account (``may_offboard``)."""
    if user.pk == actor.pk and not active:
        raise DomainError(
            ErrorCode.INVALID, "不能停用自己的账号。", {"is_active": ["不能停用自己的账号"]}
        )
    if not (offboarding and not active and may_offboard(actor, user)):
        _require_manage(actor, user)
    with transaction.atomic():
        user = lock(user)
        if not active:
            _check_not_last_sysadmin(user)
        before = snapshot(user)
        user.is_active = active
        user.save(update_fields=["is_active"])
        if not active:
            # Sessions end by themselves: the auth backend loads no inactive user.
            Token.objects.filter(user=user).delete()
        audit_update(actor=actor, obj=user, before=before)
    return user


def _check_not_last_sysadmin(user: User) -> None:
    """Every project keeps an active system administrator who can grant its roles."""
    projects = list(
        Membership.objects.filter(user=user, role__code="sysadmin").values_list(
            "project_id", flat=True
        )
    )
    for project_id in projects:
        others = (
            Membership.objects.select_for_update()
            .filter(project_id=project_id, role__code="sysadmin", user__is_active=True)
            .exclude(user=user)
            .order_by("pk")
        )
        if not list(others):
            raise DomainError(
                ErrorCode.LAST_ADMIN,
                "该用户是某个项目唯一的系统管理员，请先为该项目授权另一名系统管理员。",
            )


def user_reset_password(*, actor, user: User) -> str:
    """Give the user a random temporary password that must be changed at next login."""
    _require_manage(actor, user)
    temporary = _temporary_password()
    with transaction.atomic():
        user = lock(user)
        user.set_password(temporary)
        user.must_change_password = True
        user.save(update_fields=["password", "password_changed_at", "must_change_password"])
        Token.objects.filter(user=user).delete()
        audit_record(actor=actor, action=AuditAction.PASSWORD_RESET, obj=user, project_id=None)
    return temporary


def user_change_password(*, user: User, old_password: str, new_password: str) -> User:
    """The user's own change. Every other session and every API token of the user ends
    (logout everywhere); the caller keeps its own session with update_session_auth_hash."""
    if not user.check_password(old_password):
        raise DomainError(ErrorCode.INVALID, "原密码不正确。", {"old_password": ["原密码不正确"]})
    if old_password == new_password:
        raise DomainError(
            ErrorCode.INVALID,
            "新密码不能与原密码相同。",
            {"new_password": ["新密码不能与原密码相同"]},
        )
    _check_password(new_password, user)
    with transaction.atomic():
        user = lock(user)
        user.set_password(new_password)
        user.must_change_password = False
        user.save(update_fields=["password", "password_changed_at", "must_change_password"])
        Token.objects.filter(user=user).delete()
        audit_record(actor=user, action=AuditAction.PASSWORD_CHANGE, obj=user, project_id=None)
    return user


def user_set_language(*, user: User, language: str) -> User:
    from django.conf import settings

    if language not in dict(settings.LANGUAGES):
        raise DomainError(ErrorCode.INVALID, "不支持的语言。", {"language": ["不支持的语言"]})
    with transaction.atomic():
        before = snapshot(user)
        user.language = language
        user.save(update_fields=["language"])
        audit_update(actor=user, obj=user, before=before)
    return user


def _grant(*, actor, user: User, project, role: Role) -> Membership:
    membership, created = Membership.objects.get_or_create(
        user=user, project=project, role=role, defaults={"granted_by": actor}
    )
    if not created:
        raise DomainError(
            ErrorCode.CONFLICT, "该用户在此项目已有这个角色。", {"role": ["已有此角色"]}
        )
    audit_record(
        actor=actor,
        action=AuditAction.GRANT,
        obj=membership,
        project_id=project.pk,
        extra={"user": user.username, "role": role.code},
    )
    access.clear_cache(user)
    return membership


def membership_grant(*, actor, user: User, project, role: Role) -> Membership:
    """Give ``user`` a role on ``project``; needs ``user.manage`` there."""
    access.require_perm(actor, "user.manage", project)
    if not user.is_active:
        raise DomainError(ErrorCode.INVALID, "账号已停用，不能授权。", {"user": ["账号已停用"]})
    with transaction.atomic():
        return _grant(actor=actor, user=user, project=project, role=role)


def membership_revoke(*, actor, membership: Membership) -> None:
    """Take a role away. The last system administrator of a project cannot be removed,
    so that every project keeps someone who can grant its roles."""
    access.require_perm(actor, "user.manage", membership.project_id)
    with transaction.atomic():
        if membership.role.code == "sysadmin":
            # Lock all the project's administrator rows at once, in pk order, before
            # deciding: two administrators revoking each other then queue here instead
            # of each holding its own row and deadlocking on the other's.
            admins = list(
                Membership.objects.select_for_update(of=("self", "user"))
                .select_related("user")
                .filter(project_id=membership.project_id, role__code="sysadmin")
                .order_by("pk")
            )
            if not any(m.user.is_active for m in admins if m.pk != membership.pk):
                raise DomainError(ErrorCode.LAST_ADMIN)
        membership = lock(membership)
        audit_record(
            actor=actor,
            action=AuditAction.REVOKE,
            obj=membership,
            project_id=membership.project_id,
            extra={"user": membership.user.username, "role": membership.role.code},
        )
        membership.delete()
        access.clear_cache(membership.user)


def token_issue(*, user: User) -> Token:
    """The API token of a user who just authenticated (one per user)."""
    with transaction.atomic():
        token, _created = Token.objects.get_or_create(user=user)
        audit_record(
            actor=user, action=AuditAction.LOGIN, obj=user, project_id=None, extra={"via": "api"}
        )
    return token


def _temporary_password(length: int = 14) -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isalpha() for c in candidate) and any(c.isdigit() for c in candidate):
            return candidate
