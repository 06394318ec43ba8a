import csv
import io

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loupan.accounts import access
from loupan.core.pages import site_page, used_filters
from loupan.core.views import paginate, query_without_page

from .filters import AuditFilterSet
from .models import AuditEntry
from .services import audit_export, object_label, verify_chain

EXPORT_LIMIT = 100_000
EXPORT_HEADERS = [
    "编号",
    "时间",
    "操作人",
    "IP",
    "项目",
    "动作",
    "对象类型",
    "对象编号",
    "对象",
    "变更字段",
    "附加信息",
    "哈希",
]


def _entries(request):
    if not access.has_perm(request.user, "audit.view"):
        raise Http404
    qs = AuditEntry.objects.restrict(request.user, "view").select_related("project")
    return AuditFilterSet(request.GET or None, queryset=qs)


@site_page("audit.view")
def audit_list(request):
    filterset = _entries(request)
    page = paginate(request, filterset.qs.order_by("-id"))
    for entry in page:
        entry.hide_for(request.user)
    context = {
        "filter": filterset,
        "page": page,
        "query": query_without_page(request),
        "can_export": access.has_perm(request.user, "audit.export"),
    }
    if request.GET.get("verify") == "1":
        checked, broken, reason = verify_chain()
        context["verify"] = {"checked": checked, "broken": broken, "reason": reason}
    return render(request, "audit/audit_list.html", context)


def _row(entry):
    local = timezone.localtime(entry.created_at)
    return [
        entry.pk,
        local.strftime("%Y-%m-%d %H:%M:%S"),
        entry.actor_username,
        entry.ip or "",
        entry.project.name if entry.project_id and entry.project else "",
        entry.get_action_display(),
        entry.object_type,
        entry.object_id,
        entry.object_repr,
        _json(entry.changes),
        _json(entry.extra),
        entry.hash,
    ]


def _json(value):
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""


@require_POST
@login_required
def audit_export_view(request):
    """The filtered log (filters in the query string) as xlsx (default) or csv; a POST:
    the export itself is audited."""
    if not access.has_perm(request.user, "audit.export"):
        raise Http404
    filterset = _entries(request)
    rows = [_row(e.hide_for(request.user)) for e in filterset.qs.order_by("id")[:EXPORT_LIMIT]]
    fmt = request.GET.get("format", "xlsx")
    audit_export(
        actor=request.user, what="audit.auditentry", count=len(rows), filters=used_filters(request)
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        buffer = io.StringIO()
        buffer.write("\ufeff")  # Excel opens UTF-8 CSV correctly with a BOM
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_HEADERS)
        writer.writerows(rows)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
        return response
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("审计日志"))
    ws.append(EXPORT_HEADERS)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    response = HttpResponse(
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.xlsx"'
    return response


def object_history(
    request, obj, *, allowed: bool, template="audit/object_history.html", extra=None
):
    """The history tab of one object: its own audit entries, newest first."""
    if not allowed:
        raise Http404

    entries = AuditEntry.objects.filter(
        object_type=object_label(obj), object_id=str(obj.pk)
    ).order_by("-id")
    page = paginate(request, entries)
    for entry in page:
        entry.hide_for(request.user)
    return render(request, template, {"object": obj, "page": page, **(extra or {})})
