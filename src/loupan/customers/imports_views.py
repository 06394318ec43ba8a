"""Pages of the customers import (upload → preview → confirm, the flow of
core.import_views shared with the units import) and the 意向客户登记表 with its xlsx
export (seed 002 二.2)."""

from django.contrib import messages
from django.http import QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from loupan.accounts import access
from loupan.core.import_views import ImportPages
from loupan.core.pages import project_page, run_action
from loupan.core.views import paginate, query_without_page
from loupan.core.xlsx import export_filename, xlsx_response

from . import exports, imports
from .views import SEE


class CustomerImportPages(ImportPages):
    spec = imports.CUSTOMERS
    session_key = "customer_imports"
    url_name = "customers:customers_import"
    upload_template = "customers/import.html"
    preview_template = "customers/import_preview.html"
    title = gettext_lazy("导入客户")
    file_label = gettext_lazy("客户文件（.xlsx）")
    changed_message = gettext_lazy("数据在预览后发生了变化，文件中有问题，未导入任何客户。")

    def upload_context(self, request, project):
        return {"columns": imports.COLUMNS}

    def preview_context(self, request, project, result):
        if not result.valid:
            return {"summary": None}
        summary = result.summary()
        return {
            "summary": summary,
            "summary_tables": [
                ("owners", _("置业顾问"), summary["owners"]),
                ("grades", _("等级"), summary["grades"]),
                ("channels", _("认知途径"), summary["channels"]),
            ],
        }

    def done(self, request, project, result):
        messages.success(request, _("已导入 %(count)d 位客户。") % {"count": len(result.items)})
        return redirect("customers:intent_register", project_pk=project.pk)


pages = CustomerImportPages()
(
    customers_import,
    customers_import_preview,
    customers_import_commit,
    customers_import_cancel,
    customers_template,
) = pages.views()


@require_http_methods(["GET"])
@project_page(*SEE)
def intent_register(request, project):
    """意向客户登记表: a consultant's own customers; the whole project, or one consultant's,
    for a supervisor or manager. Phones are masked except for the owner."""
    filterset, qs, _used = imports.register_filter(request.GET, user=request.user, project=project)
    page = paginate(request, qs, 50)
    can_export = access.has_perm(request.user, "customer.export", project)
    return render(
        request,
        "customers/intent_register.html",
        {
            "project": project,
            "form": filterset.form,
            "page": page,
            "rows": [imports.register_row(request.user, c) for c in page],
            "query": query_without_page(request),
            "can_export": can_export,
            "export_needs_approval": can_export and imports.export_needs_approval(project),
            "can_import": access.has_perm(request.user, "customer.assign", project),
            "all_customers": imports.can_see_all(request.user, project),
        },
    )


@project_page(*SEE, act="customer.export")
@require_http_methods(["POST"])
def intent_register_export(request, project):
    """The register as shown (same filters in the query string, same masking) as xlsx;
    a POST: the export is audited."""
    if imports.export_needs_approval(project):
        # The manager's written consent first (seed 002 客户信息管理制度 5.1): the request
        # with these filters and the reason; the file comes once it is approved.
        ok, _export = run_action(
            request,
            lambda: exports.export_request(
                actor=request.user,
                project=project,
                filters=request.GET.dict(),
                reason=request.POST.get("reason", ""),
            ),
            success=_("已提交导出申请，经理批准后可下载一次。"),
        )
        if ok:
            return redirect("customers:export_list", project_pk=project.pk)
        return redirect(f"{request.path.rsplit('export/', 1)[0]}?{request.GET.urlencode()}")
    _filterset, qs, used = imports.register_filter(request.GET, user=request.user, project=project)
    content, _count = imports.register_export(
        actor=request.user, project=project, queryset=qs, filters=used
    )
    return xlsx_response(content, export_filename(project, "意向客户登记表"))


@require_http_methods(["POST"])
@project_page(when=exports.may_request)
def export_request(request, project):
    """申请导出 from any registered list's page (``report``, its ``query`` and a reason):
    the list's own export permission is checked by ``exports.export_request``."""
    ok, _export = run_action(
        request,
        lambda: exports.export_request(
            actor=request.user,
            project=project,
            report=request.POST.get("report", ""),
            filters=QueryDict(request.POST.get("query", "")),
            reason=request.POST.get("reason", ""),
        ),
        success=_("已提交导出申请，经理批准后可下载一次。"),
    )
    if ok:
        return redirect("customers:export_list", project_pk=project.pk)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("customers:export_list", args=[project.pk])
    return redirect(back)


def _labelled(export):
    export.report_label = exports.label_of(export.report)
    return export


@require_http_methods(["GET"])
@project_page(when=exports.may_request)
def export_list(request, project):
    """客户数据导出申请: one's own export requests (every one of the project for who may
    consent), each downloadable once when approved; the consent setting."""
    return render(
        request,
        "customers/export_list.html",
        {
            "project": project,
            "exports": [_labelled(e) for e in exports.exports_of(request.user, project)[:100]],
            "needs_approval": imports.export_needs_approval(project),
            "can_configure": access.has_perm(request.user, exports.LEVEL, project),
        },
    )


@require_http_methods(["POST"])
@project_page(when=exports.may_request)
def export_download(request, project, pk):
    """The requester's one download of an approved export."""
    export = get_object_or_404(exports.exports_of(request.user, project), pk=pk)
    ok, result = run_action(
        request, lambda: exports.export_download(actor=request.user, export=export)
    )
    if not ok:
        return redirect("customers:export_list", project_pk=project.pk)
    content, _count = result
    return xlsx_response(content, export_filename(project, exports.label_of(export.report)))


@require_http_methods(["POST"])
@project_page(*SEE, act=exports.LEVEL)
def export_policy(request, project):
    """Switch the manager's written consent for customer exports on or off."""
    run_action(
        request,
        lambda: exports.export_policy_set(
            actor=request.user,
            project=project,
            needs_approval=request.POST.get("export_needs_approval") == "1",
        ),
        success=_("已保存客户数据导出设置。"),
    )
    return redirect("customers:export_list", project_pk=project.pk)
