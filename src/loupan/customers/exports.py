"""Customer data out of the office only with the manager's written consent (seed 002
客户信息管理制度 5.1: 内外部信息传递需经过营销部门经理……的书面同意; seed 002 第十条; seed 004).

* ``needs_approval(project)``: the project's setting (``CustomerPolicy``; off by default:
  the export downloads at once, as before). ``export_policy_set`` switches it
  (``customer.export_approve``: the manager, the director).
* The exportable lists (``register_list``): every list of customers' personal data that
  asks ``require_consent`` registers itself here once, in its app's ``ready()``: a code,
  a label, who may export it (``may(user, project)``, the list's own export permission)
  and a builder that writes its xlsx for a user, a project and the list's filters (the
  query string, as a dict). The 意向客户登记表 is one entry (``intent_register``).
* ``export_request``: with the setting on, asking for a registered list's export (with
  that list's permission) files a ``CustomerExport`` with the list's code, the filters
  and a reason and an approval request of the kind ``customer_export`` at
  ``customer.export_approve``; never decided by the requester (a manager's own goes to
  another manager or the director).
* ``apply_decision``: the engine's decision (approve, reject, withdraw) on the export.
* ``export_download``: the requester downloads an approved export exactly once: the row
  moves from approved to downloaded by one conditional UPDATE in the transaction that
  builds the file (the list's builder with the approved filters, as the requester sees
  the list now, masked for them, audited as an export; built at download, not at
  approval, so no file of customer data waits on the server); a second download is
  ``export_downloaded``.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

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


@dataclass(frozen=True)
class ExportableList:
    """A list of customers' personal data that may leave under the manager's consent."""

    code: str
    label: str
    may: Callable  # may(user, project) -> bool: the list's own export permission
    build: Callable  # build(*, actor, project, filters, export) -> bytes | (bytes, rows)
    clean: Callable | None = None  # clean(*, actor, project, filters) -> dict, or invalid


_LISTS: dict[str, ExportableList] = {}


def register_list(code: str, *, label, may, build, clean=None) -> None:
    """An app adds one of its lists (in ``AppConfig.ready``)."""
    _LISTS[code] = ExportableList(code, label, may, build, clean)


def exportable(code: str) -> ExportableList:
    try:
        return _LISTS[code]
    except KeyError:
        raise invalid("report", _("导出内容：无效的名单")) from None


def exportable_lists() -> list[ExportableList]:
    return list(_LISTS.values())


def may_request(user, project, **_kwargs) -> bool:
    """Whether the user may export (so ask for) any registered list, or decide on the
    requests: who sees the 导出申请 page."""
    return access.has_perm(user, LEVEL, project) or any(
        spec.may(user, project) for spec in _LISTS.values()
    )


def label_of(code: str) -> str:
    spec = _LISTS.get(code)
    return str(spec.label) if spec else code


def list_filters(params) -> dict:
    """A list's filters as stored with the request: the query string without the page
    and the format, a value or (a filter given more than once) the list of values."""
    if hasattr(params, "lists"):
        lists = params.lists()
    else:
        lists = ((k, v if isinstance(v, list) else [v]) for k, v in params.items())
    kept = {}
    for key, values in lists:
        values = [str(v) for v in values if v is not None and str(v) != ""]
        if key in ("format", "page", "reason", "report") or not values:
            continue
        kept[str(key)] = values[0] if len(values) == 1 else values
    return kept


def _register_may(user, project) -> bool:
    return access.has_perm(user, "customer.export", project)


def _register_clean(*, actor, project, filters: dict) -> dict:
    filters = {str(k): str(v) for k, v in filters.items() if k in imports.REGISTER_FILTERS}
    # The filters are checked now, as the page would read them, not at download time.
    filterset, _qs, _used = imports.register_filter(filters, user=actor, project=project)
    if filterset.is_bound and not filterset.is_valid():
        name, reasons = next(iter(filterset.errors.items()))
        raise invalid(name, str(reasons[0]))
    return filters


def _register_build(*, actor, project, filters: dict, export):
    _filterset, qs, used = imports.register_filter(filters, user=actor, project=project)
    return imports.register_export(
        actor=actor,
        project=project,
        queryset=qs,
        filters={**used, "export_request": str(export.pk)},
        approved=True,
    )


register_list(
    "intent_register",
    label=gettext_lazy("意向客户登记表"),
    may=_register_may,
    build=_register_build,
    clean=_register_clean,
)


def require_consent(project, *, approved: bool = False) -> None:
    """The one rule (``imports.require_export_consent``) as the other lists of
    customers' personal data ask it (the deal lists, 成交客户档案, the after-sales
    lists): refused with the setting on, except inside an approved request's download
    (``export_download`` builds a registered list within ``imports.consented``); the
    lists not registered yet have no request, so the refusal says so."""
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


def export_request(
    *, actor, project, filters, reason: str, report: str = "intent_register"
) -> CustomerExport:
    """Ask the manager's consent for the export of the list ``report`` (a registered
    list's code; the 意向客户登记表 by default) with ``filters``; only who may export
    that list asks."""
    spec = exportable(report)
    if not spec.may(actor, project):
        raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有导出该名单的权限"))
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", _("导出理由：请填写导出理由"))
    if len(reason) > REASON_MAX:
        raise invalid("reason", _("导出理由：不能超过 %(n)d 个字") % {"n": REASON_MAX})
    filters = list_filters(filters or {})
    if spec.clean is not None:
        filters = spec.clean(actor=actor, project=project, filters=filters)
    with transaction.atomic():
        export = CustomerExport.objects.create(
            project=project,
            report=spec.code,
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
    project = export.project
    spec = exportable(export.report)
    if not spec.may(actor, project):
        raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有导出该名单的权限"))
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
        with imports.consented(project.pk):
            built = spec.build(actor=actor, project=project, filters=export.filters, export=export)
        content, count = built if isinstance(built, tuple) else (built, None)
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
