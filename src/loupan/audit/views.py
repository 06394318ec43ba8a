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
from .presenting import present
from .services import audit_export, object_label, verify_chain

EXPORT_LIMIT = 100_000
# entries presented at a time in an export (their objects read one query per model)
EXPORT_CHUNK = 500
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
    context = {
        "filter": filterset,
        "page": page,
        "rows": present(page, request.user),
        "query": query_without_page(request),
        "can_export": access.has_perm(request.user, "audit.export"),
    }
    if request.GET.get("verify") == "1":
        checked, broken, reason = verify_chain()
        context["verify"] = {"checked": checked, "broken": broken, "reason": reason}
    return render(request, "audit/audit_list.html", context)


def _row(shown):
    """One presented entry as a row of the export (the same words as the page)."""
    entry = shown.entry
    return [
        entry.pk,
        shown.at_text,
        entry.actor_username,
        entry.ip or "",
        shown.project_name,
        shown.action,
        shown.kind,
        entry.object_id,
        shown.object.text if shown.object else "",
        shown.changes_text(),
        shown.extra_text(),
        entry.hash,
    ]


def _rows(user, queryset):
    """The export's rows, presented a chunk at a time (bounded queries and memory)."""
    chunk = []
    for entry in queryset.iterator(chunk_size=EXPORT_CHUNK):
        chunk.append(entry)
        if len(chunk) == EXPORT_CHUNK:
            yield from (_row(s) for s in present(chunk, user))
            chunk = []
    if chunk:
        yield from (_row(s) for s in present(chunk, user))


@require_POST
@login_required
def audit_export_view(request):
    """The filtered log (filters in the query string) as xlsx (default) or csv; a POST:
    the export itself is audited."""
    if not access.has_perm(request.user, "audit.export"):
        raise Http404
    filterset = _entries(request)
    rows = list(_rows(request.user, filterset.qs.order_by("id")[:EXPORT_LIMIT]))
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
    rows = present(page, request.user)
    return render(request, template, {"object": obj, "page": page, "rows": rows, **(extra or {})})
