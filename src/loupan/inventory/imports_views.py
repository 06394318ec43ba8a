"""Pages of the units import (upload → preview → confirm) and the xlsx export; the
upload/preview/commit flow is core.import_views, shared with the customers import."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from loupan.accounts import access
from loupan.core.import_views import ImportPages
from loupan.core.pages import project_page
from loupan.core.xlsx import xlsx_response

from . import imports

SESSION_KEY = "unit_imports"


def _after_import_url(project) -> str:
    """The board when it exists (another module draws it), else the project page."""
    try:
        return reverse("inventory:board", args=[project.pk])
    except NoReverseMatch:
        return project.get_absolute_url()


class UnitImportPages(ImportPages):
    spec = imports.UNITS
    session_key = SESSION_KEY
    url_name = "inventory:units_import"
    upload_template = "inventory/units_import.html"
    preview_template = "inventory/units_import_preview.html"
    title = gettext_lazy("导入房源")
    file_label = gettext_lazy("房源文件（.xlsx）")
    changed_message = gettext_lazy("数据在预览后发生了变化，文件中有问题，未导入任何房间。")

    def upload_context(self, request, project):
        return {
            "can_export": access.has_perm(request.user, "unit.export", project),
            "columns": imports.columns_for(
                floor_price=imports.can_see_floor_price(request.user, project)
            ),
        }

    def preview_context(self, request, project, result):
        return {"summary": result.summary() if result.valid else None}

    def done(self, request, project, result):
        messages.success(
            request, _("已导入 %(count)d 套房源（状态为“未推”）。") % {"count": len(result.units)}
        )
        return redirect(_after_import_url(project))


pages = UnitImportPages()
(
    units_import,
    units_import_preview,
    units_import_commit,
    units_import_cancel,
    units_template,
) = pages.views()


@project_page(act="unit.export")
@require_http_methods(["POST"])
def units_export(request, project):
    """The units as xlsx, in the import format; a POST: the export is audited."""
    content, _count = imports.units_export(actor=request.user, project=project)
    return xlsx_response(content, imports.export_filename(project))
