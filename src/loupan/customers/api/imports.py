"""API of the customers import and the 意向客户登记表 (core.import_views: the import and
template endpoints shared with the units import).

* ``POST /api/v1/projects/{project_id}/customers/import/`` (multipart, field ``file``):
  ``?dry_run=1`` answers 200 with ``{"valid", "rows", "error_count", "errors": [{"row",
  "column", "message"}]}`` and writes nothing; without it every row is imported (201) or
  none (400, code ``invalid``, the same ``errors``). Needs ``customer.assign``.
* ``GET …/customers/template/``: the empty template.
* ``GET …/customers/intent-register/``: the register as JSON, paginated (the caller's own customers
  for a consultant; ``?owner=`` one consultant's for those who see the project's), phones
  masked except the caller's own customers'.
* ``POST …/customers/intent-register/export/``: the same as xlsx; needs
  ``customer.export`` and is audited. Where the project wants the manager's written
  consent, the body's ``reason`` files an export request instead (202, the request;
  without a reason 400 ``invalid`` naming ``reason``): see ``customers.api.exports``.
"""

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from loupan.accounts import access
from loupan.core.import_views import PROJECT_ID, XLSX_FILE, ImportApiViewSet
from loupan.core.xlsx import export_filename, xlsx_response
from loupan.customers import exports, imports
from loupan.customers.api.exports import CustomerExportSerializer, ExportReasonSerializer
from loupan.customers.api.serializers import RegisterRowSerializer
from loupan.inventory.models import Project


@extend_schema_view(
    import_file=extend_schema(
        operation_id="customers_import",
        description="导入客户 xlsx：全部正确才写入（全部或全不）；dry_run=1 只检查。",
    ),
    template=extend_schema(
        operation_id="customers_import_template", description="下载客户导入模板 xlsx。"
    ),
)
class CustomerImportViewSet(ImportApiViewSet):
    """Import of a project's existing customers and its 意向客户登记表."""

    queryset = Project.objects.all()
    spec = imports.CUSTOMERS

    def _register(self):
        """The project (404 unless the caller sees its customers, as the page) and the
        register's rows as filtered, with the filters for the audit entry."""
        user = self.request.user
        project = get_object_or_404(
            self.get_queryset().restrict(user, "view"), pk=self.kwargs["project_id"]
        )
        if not (
            access.has_perm(user, "customer.view", project)
            or access.has_perm(user, "customer.view_own", project)
        ):
            raise Http404
        filterset, qs, used = imports.register_filter(
            self.request.query_params, user=user, project=project
        )
        if filterset.is_bound and not filterset.is_valid():
            raise ValidationError(filterset.errors)
        return project, qs, used

    @extend_schema(
        operation_id="customers_intent_register",
        parameters=[PROJECT_ID],
        responses=inline_serializer(
            "IntentRegisterPage",
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": RegisterRowSerializer(many=True),
            },
        ),
        description="意向客户登记表（置业顾问：本人的客户；主管、经理：全部或按 owner 筛选）。",
    )
    @action(detail=False, methods=["get"], url_path="intent-register")
    def intent_register(self, request, project_id=None):
        _project, qs, _filters = self._register()
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs, request, view=self)
        rows = [imports.register_row(request.user, c) for c in page]
        return paginator.get_paginated_response(RegisterRowSerializer(rows, many=True).data)

    @extend_schema(
        operation_id="customers_intent_register_export",
        parameters=[PROJECT_ID],
        request=ExportReasonSerializer,
        responses={**XLSX_FILE, 202: CustomerExportSerializer},
        description=(
            "导出意向客户登记表 xlsx（需“导出客户名单”权限；手机号按查看人脱敏；记入审计）。"
            "项目设置为导出须经理书面同意时，提交 reason 即创建导出申请（202），批准后由申请人下载一次。"
        ),
    )
    @action(detail=False, methods=["post"], url_path="intent-register/export")
    def intent_register_export(self, request, project_id=None):
        project, qs, filters = self._register()
        if imports.export_needs_approval(project):
            data = ExportReasonSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            export = exports.export_request(
                actor=request.user,
                project=project,
                filters=filters,
                reason=data.validated_data.get("reason", ""),
            )
            return Response(CustomerExportSerializer(export).data, status=status.HTTP_202_ACCEPTED)
        content, _count = imports.register_export(
            actor=request.user, project=project, queryset=qs, filters=filters
        )
        return xlsx_response(content, export_filename(project, "意向客户登记表"))


def register(router):
    """/projects/{project_id}/customers/import|template|intent-register[/export]/ (no
    list route: /api/v1/customers/ stays the customers' own viewset)."""
    router.register(
        r"projects/(?P<project_id>[0-9]+)/customers",
        CustomerImportViewSet,
        basename="customer-import",
    )
