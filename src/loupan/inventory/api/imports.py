"""Unit import/export API.

* ``POST /api/v1/projects/{project_id}/units/import/`` (multipart, field ``file``):
  with ``?dry_run=1`` answers 200 ``{"valid", "rows", "errors": [{"row", "column",
  "message"}]}`` and writes nothing; without it imports all rows (201) or none (400,
  code ``invalid``, the same ``errors`` in the body).
* ``GET …/units/export/``: the units as xlsx, in the import format (audited; 底价 only
  for callers who may see floor prices).
* ``GET …/units/template/``: the empty template.

A file that is not a readable xlsx is 400 with code ``invalid`` and ``fields.file``.
The body lists at most ``MAX_ERRORS`` problems; ``error_count`` is the total.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from loupan.accounts.access import require_perm
from loupan.core.errors import DomainError, ErrorCode
from loupan.inventory import imports
from loupan.inventory.import_views import xlsx_response
from loupan.inventory.models import Project

MAX_ERRORS = 1000

PROJECT_ID = OpenApiParameter(
    "project_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="项目 ID"
)
DRY_RUN = OpenApiParameter(
    "dry_run", OpenApiTypes.BOOL, OpenApiParameter.QUERY, description="1：只检查，不写入"
)
ERRORS = inline_serializer(
    "UnitImportError",
    many=True,
    fields={
        "row": serializers.IntegerField(allow_null=True, help_text="Excel 行号"),
        "column": serializers.CharField(help_text="列名"),
        "message": serializers.CharField(help_text="原因"),
    },
)
RESULT = inline_serializer(
    "UnitImportResult",
    {
        "valid": serializers.BooleanField(),
        "rows": serializers.IntegerField(),
        "created": serializers.IntegerField(required=False),
        "error_count": serializers.IntegerField(),
        "errors": ERRORS,
    },
)
UPLOAD = inline_serializer("UnitImportUpload", {"file": serializers.FileField()})


def _truthy(value) -> bool:
    return str(value or "").strip().lower() in {"1", "true", "yes", "on"}


def _body(result: imports.ImportResult) -> dict:
    return {
        "valid": result.valid,
        "rows": result.rows,
        "error_count": len(result.problems),
        "errors": [p.as_dict() for p in result.problems[:MAX_ERRORS]],
    }


class UnitImportViewSet(viewsets.GenericViewSet):
    """Import and export of a project's units in the planning department's xlsx."""

    queryset = Project.objects.all()
    pagination_class = None
    filter_backends = []

    def perform_content_negotiation(self, request, force=False):
        # The export answers xlsx whatever Accept says; errors stay JSON.
        return super().perform_content_negotiation(request, force=True)

    def _project(self, perm: str) -> Project:
        project = get_object_or_404(
            Project.objects.restrict(self.request.user, "view"), pk=self.kwargs["project_id"]
        )
        require_perm(self.request.user, perm, project)
        return project

    @extend_schema(
        operation_id="units_import",
        parameters=[PROJECT_ID, DRY_RUN],
        request={"multipart/form-data": UPLOAD},
        responses={200: RESULT, 201: RESULT, 400: RESULT},
        description="导入房源 xlsx：全部正确才写入（全部或全不）；dry_run=1 只检查。",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_units(self, request, project_id=None):
        project = self._project("unit.change")
        upload = request.FILES.get("file")
        if upload is None:
            raise DomainError(
                ErrorCode.INVALID, "请上传 .xlsx 文件（字段 file）。", {"file": ["必须上传文件"]}
            )
        dry_run = _truthy(request.query_params.get("dry_run"))
        if dry_run:
            result = imports.read_units(
                project=project, file=upload, user=request.user, file_name=upload.name
            )
            return Response(_body(result))
        try:
            result = imports.units_import(
                actor=request.user, project=project, file=upload, file_name=upload.name
            )
        except imports.ImportInvalid as exc:
            error = exc.as_dict()
            error.update(_body(exc.result))
            return Response(error, status=status.HTTP_400_BAD_REQUEST)
        return Response(
            {**_body(result), "created": len(result.units)}, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        operation_id="units_export",
        parameters=[PROJECT_ID],
        responses={(200, imports.XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY)},
        description="导出房源 xlsx（与导入格式相同；底价列仅对有权查看底价的用户导出）。",
    )
    @action(detail=False, methods=["get"], url_path="export")
    def export_units(self, request, project_id=None):
        project = self._project("unit.export")
        content, _count = imports.units_export(actor=request.user, project=project)
        return xlsx_response(content, imports.export_filename(project))

    @extend_schema(
        operation_id="units_import_template",
        parameters=[PROJECT_ID],
        responses={(200, imports.XLSX_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.BINARY)},
        description="下载房源导入模板 xlsx。",
    )
    @action(detail=False, methods=["get"], url_path="template")
    def template(self, request, project_id=None):
        project = self._project("unit.change")
        content = imports.units_template(actor=request.user, project=project)
        return xlsx_response(content, f"{project.code}-房源导入模板.xlsx")


def register(router):
    """Register the import/export endpoints on the API router: a prefix with the project
    id in it yields /projects/{project_id}/units/import|export|template/ (no list route,
    so the API root and the projects routes are untouched)."""
    router.register(
        r"projects/(?P<project_id>[0-9]+)/units", UnitImportViewSet, basename="unit-import"
    )
