"""The reports API (issue 15 "the same in /api/v1/reports/…"):

* ``GET /reports/?project=`` the reports the caller may open on the project;
* ``GET /reports/{code}/?project=&period=&date=&start=&end=&building=&consultant=&channel=``
  ``&page=&page_size=`` the report: key figures, tables (columns with Chinese headers
  and kinds, the page's rows, the whole period's ``count`` of rows and total) — the
  same ``Report`` the page draws; a long table (a year's 成交客户档案) comes
  ``page_size`` rows at a time (``engine.PAGE_SIZE`` by default, at most
  ``MAX_PAGE_SIZE``), ``pages`` says how many pages the longest table has;
* ``POST /reports/{code}/export/?project=…`` the xlsx (audited);
* ``POST /reports/daily/confirm/`` ``{"project", "day", "note"}`` confirms a day;
* ``GET /reports/company/?period=&date=`` the company roll-up.

Refusals have the one error shape (a bad filter is ``invalid`` naming the field, a bad
``page`` or ``page_size`` is ``page_invalid``)."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from loupan.core.api import project_param
from loupan.core.xlsx import export_filename, xlsx_response

from .. import daily, engine, rollup

FILTERS = [
    OpenApiParameter("project", OpenApiTypes.INT, required=True, description="项目"),
    OpenApiParameter("period", OpenApiTypes.STR, enum=list(engine.PERIODS), description="周期"),
    OpenApiParameter("date", OpenApiTypes.DATE, description="周期所在日期（默认今天）"),
    OpenApiParameter("start", OpenApiTypes.DATE, description="开始日期"),
    OpenApiParameter("end", OpenApiTypes.DATE, description="结束日期（含）"),
    OpenApiParameter("building", OpenApiTypes.INT, description="楼栋"),
    OpenApiParameter("consultant", OpenApiTypes.INT, description="置业顾问"),
    OpenApiParameter("channel", OpenApiTypes.INT, description="认知途径"),
]
PAGING = [
    OpenApiParameter(
        "page",
        OpenApiTypes.INT,
        description="页码（从 1 起）：每张表只返回该页的行，合计与关键指标仍为整个周期",
    ),
    OpenApiParameter(
        "page_size",
        OpenApiTypes.INT,
        description=f"每页行数（默认 {engine.PAGE_SIZE}，最大 {engine.MAX_PAGE_SIZE}）",
    ),
]


class CatalogueEntrySerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    group = serializers.CharField()
    period = serializers.CharField()
    description = serializers.CharField()


class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    header = serializers.CharField()
    kind = serializers.CharField()


class TableSerializer(serializers.Serializer):
    title = serializers.CharField()
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(), help_text="本页的行（page、page_size）"
    )
    count = serializers.IntegerField(help_text="整个周期的行数")
    total = serializers.DictField(allow_null=True, help_text="整个周期的合计行")


class FigureSerializer(serializers.Serializer):
    label = serializers.CharField()
    value = serializers.JSONField()
    kind = serializers.CharField()


class ReportSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    project = serializers.IntegerField()
    filters = serializers.DictField()
    figures = FigureSerializer(many=True)
    tables = TableSerializer(many=True)
    notes = serializers.ListField(child=serializers.CharField())
    extra = serializers.DictField(required=False)
    page = serializers.IntegerField(help_text="页码")
    page_size = serializers.IntegerField(help_text="每页行数")
    pages = serializers.IntegerField(help_text="最长的表的页数")


class ConfirmSerializer(serializers.Serializer):
    project = serializers.IntegerField(label=_("项目"))
    day = serializers.DateField(label=_("日期"))
    note = serializers.CharField(label=_("说明"), required=False, allow_blank=True, max_length=300)


class ConfirmedSerializer(serializers.Serializer):
    day = serializers.DateField()
    digest = serializers.CharField()
    confirmed_at = serializers.DateTimeField()


class CompanyRollupSerializer(serializers.Serializer):
    start = serializers.DateField(allow_null=True)
    end = serializers.DateField(allow_null=True)
    columns = ColumnSerializer(many=True)
    projects = serializers.ListField(child=serializers.DictField())
    total = serializers.DictField(allow_null=True)


class ReportCatalogueView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=FILTERS[:1], responses=CatalogueEntrySerializer(many=True), tags=["reports"]
    )
    def get(self, request):
        """The reports the caller may open on the project."""
        project = project_param(request)
        return Response(
            [
                {
                    "code": s.code,
                    "title": str(s.title),
                    "group": str(s.group),
                    "period": s.period,
                    "description": str(s.description),
                }
                for s in engine.catalogue_for(request.user, project)
            ]
        )


class ReportView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=FILTERS + PAGING, responses=ReportSerializer, tags=["reports"])
    def get(self, request, report):
        """One report with the filters of the query string; each table's rows a page at a
        time (``page``, ``page_size``), with its ``count`` and total of the whole period."""
        project = project_param(request)
        page = engine.page_of(request.query_params)
        built = engine.build(report, request.user, project, request.query_params)
        return Response(engine.as_json(built, page))


class ReportExportView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        parameters=FILTERS,
        request=None,
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        tags=["reports"],
    )
    def post(self, request, report):
        """The report as an xlsx (recorded in the audit trail with its filters)."""
        project = project_param(request)
        spec = engine.spec_of(report)
        content = engine.export(
            actor=request.user, project=project, code=report, params=request.query_params
        )
        return xlsx_response(content, export_filename(project, str(spec.title)))


class DailyConfirmView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=ConfirmSerializer, responses={201: ConfirmedSerializer}, tags=["reports"]
    )
    def post(self, request):
        """The supervisor confirms a day's 销售日报 after it closes (frozen afterwards)."""
        project = project_param(request)
        data = ConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        confirmed = daily.daily_confirm(
            actor=request.user,
            project=project,
            day=data.validated_data["day"],
            note=data.validated_data.get("note", ""),
        )
        return Response(ConfirmedSerializer(confirmed).data, status=status.HTTP_201_CREATED)


class CompanyView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(parameters=FILTERS[1:5], responses=CompanyRollupSerializer, tags=["reports"])
    def get(self, request):
        """Every project the caller reads the reports of, side by side and summed."""
        result = rollup.company(request.user, request.query_params)
        columns = result["columns"]
        return Response(
            {
                "start": result["start"],
                "end": result["end"],
                "columns": [{"key": c.field, "header": c.header, "kind": c.kind} for c in columns],
                "projects": [
                    {c.field: engine.cell_json(row.get(c.field), c.kind) for c in columns}
                    for row in result["projects"]
                ],
                "total": (
                    {
                        c.field: engine.cell_json(result["total"].get(c.field), c.kind)
                        for c in columns
                    }
                    if result["total"]
                    else None
                ),
            }
        )
