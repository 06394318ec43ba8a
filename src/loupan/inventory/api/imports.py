"""Unit import/export API (the import and the template: core.import_views, shared with
the customers import).

* ``POST /api/v1/projects/{project_id}/units/import/`` (multipart, field ``file``):
  with ``?dry_run=1`` answers 200 ``{"valid", "rows", "errors": [{"row", "column",
  "message"}]}`` and writes nothing; without it imports all rows (201) or none (400,
  code ``invalid``, the same ``errors`` in the body).
* ``POST …/units/export/``: the units as xlsx, in the import format (audited; 底价 only
  for callers who may see floor prices).
* ``GET …/units/template/``: the empty template.
"""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework.decorators import action

from loupan.core.import_views import PROJECT_ID, XLSX_FILE, ImportApiViewSet
from loupan.core.xlsx import xlsx_response
from loupan.inventory import imports
from loupan.inventory.models import Project


@extend_schema_view(
    import_file=extend_schema(
        operation_id="units_import",
        description="导入房源 xlsx：全部正确才写入（全部或全不）；dry_run=1 只检查。",
    ),
    template=extend_schema(
        operation_id="units_import_template", description="下载房源导入模板 xlsx。"
    ),
)
class UnitImportViewSet(ImportApiViewSet):
    """Import and export of a project's units in the planning department's xlsx."""

    queryset = Project.objects.all()
    spec = imports.UNITS

    @extend_schema(
        operation_id="units_export",
        parameters=[PROJECT_ID],
        request=None,
        responses=XLSX_FILE,
        description="导出房源 xlsx（与导入格式相同；底价列仅对有权查看底价的用户导出）。",
    )
    @action(detail=False, methods=["post"], url_path="export")
    def export_units(self, request, project_id=None):
        project = self.project("unit.export")
        content, _count = imports.units_export(actor=request.user, project=project)
        return xlsx_response(content, imports.export_filename(project))


def register(router):
    """Register the import/export endpoints on the API router: a prefix with the project
    id in it yields /projects/{project_id}/units/import|export|template/ (no list route,
    so the API root and the projects routes are untouched)."""
    router.register(
        r"projects/(?P<project_id>[0-9]+)/units", UnitImportViewSet, basename="unit-import"
    )
