"""Writes on projects and presale permits (one transaction and audit entry each)."""

from django.db import transaction

from loupan.accounts.access import clear_cache, has_perm
from loupan.accounts.models import Membership, Role
from loupan.audit.models import AuditAction
from loupan.audit.services import audit_record
from loupan.core.errors import DomainError, ErrorCode, PermissionDenied
from loupan.core.services import object_create, object_delete, object_update

from .models import Company, PresalePermit, Project, ProjectStatus

PROJECT_FIELDS = [
    "company",
    "name",
    "code",
    "city",
    "district",
    "address",
    "sales_office_phone",
    "default_pricing_basis",
    "status",
    "is_active",
    "note",
]
PERMIT_FIELDS = ["number", "issued_on", "authority", "buildings", "area"]
COMPANY_FIELDS = ["name", "short_name", "credit_code", "address", "phone"]


def company_create(*, actor, data: dict) -> Company:
    if not has_perm(actor, "project.add"):
        raise PermissionDenied()
    return object_create(actor=actor, model=Company, data=data, perm="project.add")


def company_update(*, actor, company: Company, data: dict) -> Company:
    if not has_perm(actor, "project.add"):
        raise PermissionDenied()
    return object_update(actor=actor, obj=company, data=data, perm="project.add")


def project_create(*, actor, data: dict) -> Project:
    """A new project. Needs ``project.add`` on some project; the creator (unless a
    superuser) becomes the new project's system administrator so that someone can grant
    its roles."""
    if not has_perm(actor, "project.add"):
        raise PermissionDenied()
    with transaction.atomic():
        project = object_create(actor=actor, model=Project, data=data, perm="project.add")
        if not actor.is_superuser:
            role = Role.objects.get(code="sysadmin")
            membership = Membership.objects.create(
                user=actor, project=project, role=role, granted_by=actor
            )
            audit_record(
                actor=actor,
                action=AuditAction.GRANT,
                obj=membership,
                project_id=project.pk,
                extra={"user": actor.username, "role": role.code},
            )
            clear_cache(actor)
    return project


def project_update(*, actor, project: Project, data: dict) -> Project:
    return object_update(actor=actor, obj=project, data=data, perm="project.change")


def project_delete(*, actor, project: Project) -> None:
    """Only a project still being prepared and holding no permits can be deleted (one
    created by mistake); a project with history is closed instead."""
    if project.status != ProjectStatus.PREPARING or project.permits.exists():
        raise DomainError(
            ErrorCode.IN_USE, "只能删除筹备中且没有预售许可证的项目；其他项目请改为“结案”或停用。"
        )
    members = list(project.memberships.values_list("user__username", "role__code"))
    object_delete(
        actor=actor,
        obj=project,
        perm="project.delete",
        extra={"memberships": [list(m) for m in members]},
    )


def permit_create(*, actor, project: Project, data: dict) -> PresalePermit:
    return object_create(
        actor=actor,
        model=PresalePermit,
        data={**data, "project": project},
        perm="project.change",
        project=project,
    )


def permit_update(*, actor, permit: PresalePermit, data: dict) -> PresalePermit:
    return object_update(actor=actor, obj=permit, data=data, perm="project.change")


def permit_delete(*, actor, permit: PresalePermit) -> None:
    object_delete(actor=actor, obj=permit, perm="project.change")
