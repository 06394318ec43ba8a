"""Customer data out of the office only with the manager's written consent (seed 002
客户信息管理制度 5.1: 内外部信息传递需经过营销部门经理……的书面同意; seed 002 第十条; seed 004).

* ``needs_approval(project)``: the project's setting (``CustomerPolicy``; off by default:
  the export downloads at once, as before). ``export_policy_set`` switches it
  (``customer.export_approve``: the manager, the director).
* ``export_request``: with the setting on, asking for the 意向客户登记表's export
  (``customer.export``) files a ``CustomerExport`` with the filters and a reason and an
  approval request of the kind ``customer_export`` at ``customer.export_approve``; never
  decided by the requester (a manager's own goes to another manager or the director).
* ``apply_decision``: the engine's decision (approve, reject, withdraw) on the export.
* ``export_download``: the requester downloads an approved export exactly once: the row
  moves from approved to downloaded by one conditional UPDATE in the transaction that
  builds the file (with the approved filters, masked for the requester, audited as an
  export); a second download is ``export_downloaded``.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loupan.accounts import access
from loupan.approvals import services as approvals
from loupan.audit.services import audit_create, audit_update
from loupan.core.errors import DomainError, ErrorCode, invalid
from loupan.core.snapshot import snapshot

from . import imports
from .errors import CustomerError
from .models import CustomerExport, CustomerPolicy, ExportStatus

APPROVAL_KIND = "customer_export"
LEVEL = "customer.export_approve"
REASON_MAX = 300


needs_approval = imports.export_needs_approval


def require_consent(project, *, approved: bool = False) -> None:
    """The one rule (``imports.require_export_consent``) as the other lists of
    customers' personal data ask it (the deal lists, 成交客户档案, the after-sales
    lists): they have no request of their own yet, so the refusal says so."""
    imports.require_export_consent(
        project,
        approved=approved,
        message=_("本项目导出客户数据须经理书面同意：含客户姓名、电话的名单不能直接导出。"),
    )


def export_policy_set(*, actor, project, needs_approval: bool) -> CustomerPolicy:
    """Switch the manager's written consent for customer exports on or off."""
    access.require_perm(actor, LEVEL, project)
    with transaction.atomic():
        policy, created = CustomerPolicy.objects.select_for_update().get_or_create(project=project)
        before = snapshot(policy)
        policy.export_needs_approval = bool(needs_approval)
        policy.save()
        if created:
            audit_create(actor=actor, obj=policy)
        else:
            audit_update(actor=actor, obj=policy, before=before)
    return policy


def export_request(*, actor, project, filters: dict, reason: str) -> CustomerExport:
    """Ask the manager's consent for the register's export with ``filters``."""
    access.require_perm(actor, "customer.export", project)
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", _("导出理由：请填写导出理由"))
    if len(reason) > REASON_MAX:
        raise invalid("reason", _("导出理由：不能超过 %(n)d 个字") % {"n": REASON_MAX})
    filters = {str(k): str(v) for k, v in (filters or {}).items() if k in imports.REGISTER_FILTERS}
    # The filters are checked now, as the page would read them, not at download time.
    filterset, _qs, _used = imports.register_filter(filters, user=actor, project=project)
    if filterset.is_bound and not filterset.is_valid():
        name, reasons = next(iter(filterset.errors.items()))
        raise invalid(name, str(reasons[0]))
    with transaction.atomic():
        export = CustomerExport.objects.create(
            project=project,
            filters=filters,
            reason=reason,
            requested_by=actor,
            requested_at=timezone.now(),
        )
        audit_create(actor=actor, obj=export)
        approvals.approval_request(
            actor=actor,
            project=project,
            subject=export,
            kind=APPROVAL_KIND,
            payload={"report": export.report, "filters": filters},
            reason=reason,
            final=LEVEL,
            level=LEVEL,
        )
    return export


def apply_decision(*, actor, request, approved: bool) -> None:
    """The engine decided (or the requester withdrew): the export may be downloaded, or
    never will be."""
    export = CustomerExport.objects.select_for_update().get(pk=request.subject_id)
    before = snapshot(export)
    if approved:
        export.status = ExportStatus.APPROVED
    elif request.status == "withdrawn":
        export.status = ExportStatus.WITHDRAWN
    else:
        export.status = ExportStatus.REJECTED
    export.decided_at = timezone.now()
    export.save(update_fields=["status", "decided_at"])
    audit_update(actor=actor, obj=export, before=before)


def export_download(*, actor, export: CustomerExport) -> tuple[bytes, int]:
    """The requester's one download of an approved export, built now with its filters."""
    if export.requested_by_id != actor.pk:
        raise DomainError(ErrorCode.PERMISSION_DENIED, _("只有申请人本人可以下载该导出。"))
    access.require_perm(actor, "customer.export", export.project_id)
    with transaction.atomic():
        now = timezone.now()
        taken = CustomerExport.objects.filter(
            pk=export.pk, status=ExportStatus.APPROVED, downloaded_at__isnull=True
        ).update(status=ExportStatus.DOWNLOADED, downloaded_at=now)
        if not taken:
            current = CustomerExport.objects.get(pk=export.pk)
            if current.status == ExportStatus.DOWNLOADED:
                raise DomainError(CustomerError.EXPORT_DOWNLOADED)
            raise DomainError(CustomerError.EXPORT_NOT_APPROVED)
        project = export.project
        _filterset, qs, used = imports.register_filter(export.filters, user=actor, project=project)
        content, count = imports.register_export(
            actor=actor,
            project=project,
            queryset=qs,
            filters={**used, "export_request": str(export.pk)},
            approved=True,
        )
        before = snapshot(export)
        export.refresh_from_db()
        export.rows = count
        export.save(update_fields=["rows"])
        audit_update(actor=actor, obj=export, before=before, extra={"downloaded": True})
    return content, count


def exports_of(user, project):
    """The export requests the user sees: all of the project for who may consent, one's
    own for the others; newest first."""
    return (
        CustomerExport.objects.restrict(user, "view")
        .filter(project=project)
        .select_related("requested_by")
        .order_by("-requested_at", "-pk")
    )
