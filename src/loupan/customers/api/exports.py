"""Customer exports under the manager's written consent in the API (seed 002 客户信息管理
制度 5.1; the rules are ``customers.exports``):

* ``GET /api/v1/customer-exports/`` (``?project=``, ``?status=``): the caller's own export
  requests, every one of the project for who may consent (``customer.export_approve``).
* ``POST …/{id}/approve/`` ``{reason}`` and ``…/{id}/reject/`` ``{reason}`` (required):
  the manager decides (never the requester); ``…/{id}/withdraw/`` takes it back.
* ``POST …/{id}/download/``: the requester's one download of an approved export (xlsx);
  409 ``export_downloaded`` the second time, ``export_not_approved`` before approval.
* ``GET …/policy/?project=`` and ``POST …/policy/`` ``{project, export_needs_approval}``:
  the project's setting (``customer.export_approve`` to change it).
* ``POST /api/v1/customer-exports/`` ``{project, report, filters, reason}``: the request
  for any registered list (``report``: ``intent_register``, ``deals.all``,
  ``aftersales.repairs``, …; ``filters``: the list's query string as a dict); 202.
The register's export also makes it
(``POST /api/v1/projects/{id}/customers/intent-register/export/`` with ``reason``).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalStatus
from loupan.core.api import StrictInputMixin, named_choices, project_by_id, project_param
from loupan.core.errors import conflict, invalid
from loupan.core.import_views import XLSX_FILE
from loupan.core.viewsets import RestrictedViewSet
from loupan.core.xlsx import export_filename, xlsx_response

from .. import exports, imports
from ..models import CustomerExport, ExportStatus


class ExportReasonSerializer(StrictInputMixin, serializers.Serializer):
    reason = serializers.CharField(
        label=_("导出理由"), required=False, allow_blank=True, max_length=300
    )


class CustomerExportSerializer(serializers.ModelSerializer):
    status = named_choices("CustomerExportStatus", ExportStatus.choices)(
        choices=ExportStatus.choices, read_only=True
    )
    requested_by_name = serializers.SerializerMethodField()

    class Meta:
        model = CustomerExport
        fields = [
            "id",
            "project",
            "report",
            "filters",
            "reason",
            "requested_by",
            "requested_by_name",
            "requested_at",
            "status",
            "decided_at",
            "downloaded_at",
            "rows",
        ]
        read_only_fields = fields

    def get_requested_by_name(self, obj) -> str:
        return obj.requested_by.real_name or obj.requested_by.username


class ExportRequestSerializer(StrictInputMixin, serializers.Serializer):
    project = serializers.IntegerField(label=_("项目"))
    report = serializers.CharField(
        label=_("导出内容"), max_length=30, help_text="intent_register, deals.all, …"
    )
    filters = serializers.DictField(
        label=_("筛选条件"),
        child=serializers.JSONField(),
        required=False,
        default=dict,
        help_text="the list's filters as in its query string: a value, or a list of values",
    )
    reason = serializers.CharField(
        label=_("导出理由"), required=False, allow_blank=True, default="", max_length=300
    )


class ExportDecisionSerializer(StrictInputMixin, serializers.Serializer):
    reason = serializers.CharField(
        label=_("审批意见"), required=False, allow_blank=True, default="", max_length=300
    )


class PolicySerializer(StrictInputMixin, serializers.Serializer):
    project = serializers.IntegerField(label=_("项目"))
    export_needs_approval = serializers.BooleanField(label=_("导出客户数据须经理书面同意"))


class CustomerExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """客户数据导出申请 (the manager's written consent, downloaded once)."""

    queryset = CustomerExport.objects.select_related("requested_by").order_by(
        "-requested_at", "-pk"
    )
    serializer_class = CustomerExportSerializer
    project_filter = "project_id"

    def get_queryset(self):
        qs = super().get_queryset()
        state = self.request.query_params.get("status")
        if state:
            if state not in ExportStatus.values:
                raise invalid("status", _("状态：无效的状态"))
            qs = qs.filter(status=state)
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("project", OpenApiTypes.INT),
            OpenApiParameter("status", OpenApiTypes.STR, enum=ExportStatus.values),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ExportRequestSerializer, responses={202: CustomerExportSerializer})
    def create(self, request, *args, **kwargs):
        """Ask the manager's consent for a registered list's export (its code, its
        filters, a reason); the file is downloaded once when approved."""
        data = ExportRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_by_id(request.user, data.validated_data["project"])
        export = exports.export_request(
            actor=request.user,
            project=project,
            report=data.validated_data["report"],
            filters=data.validated_data["filters"],
            reason=data.validated_data["reason"],
        )
        return Response(CustomerExportSerializer(export).data, status=202)

    def _open_request(self, export):
        request = approvals.requests_of(export).filter(status=ApprovalStatus.PENDING).first()
        if request is None:
            raise conflict(_("该导出申请已处理。"))
        return request

    def _decide(self, approve: bool):
        export = self.get_object()
        data = ExportDecisionSerializer(data=self.request.data)
        data.is_valid(raise_exception=True)
        approvals.approval_decide(
            actor=self.request.user,
            request=self._open_request(export),
            approve=approve,
            reason=data.validated_data["reason"],
        )
        export.refresh_from_db()
        return Response(CustomerExportSerializer(export).data)

    @extend_schema(request=ExportDecisionSerializer, responses=CustomerExportSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(True)

    @extend_schema(request=ExportDecisionSerializer, responses=CustomerExportSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(False)

    @extend_schema(request=None, responses=CustomerExportSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        export = self.get_object()
        approvals.approval_withdraw(actor=request.user, request=self._open_request(export))
        export.refresh_from_db()
        return Response(CustomerExportSerializer(export).data)

    @extend_schema(request=None, responses=XLSX_FILE)
    @action(detail=True, methods=["post"])
    def download(self, request, pk=None):
        export = self.get_object()
        content, _count = exports.export_download(actor=request.user, export=export)
        return xlsx_response(
            content, export_filename(export.project, exports.label_of(export.report))
        )

    @extend_schema(
        methods=["get"],
        parameters=[OpenApiParameter("project", OpenApiTypes.INT, required=True)],
        responses=inline_serializer(
            "CustomerExportPolicy",
            {
                "project": serializers.IntegerField(),
                "export_needs_approval": serializers.BooleanField(),
            },
        ),
    )
    @extend_schema(
        methods=["post"],
        request=PolicySerializer,
        responses=inline_serializer(
            "CustomerExportPolicySet",
            {
                "project": serializers.IntegerField(),
                "export_needs_approval": serializers.BooleanField(),
            },
        ),
    )
    @action(detail=False, methods=["get", "post"])
    def policy(self, request):
        if request.method == "GET":
            project = project_param(request)
        else:
            data = PolicySerializer(data=request.data)
            data.is_valid(raise_exception=True)
            project = project_by_id(request.user, data.validated_data["project"])
            exports.export_policy_set(
                actor=request.user,
                project=project,
                needs_approval=data.validated_data["export_needs_approval"],
            )
        return Response(
            {
                "project": project.pk,
                "export_needs_approval": imports.export_needs_approval(project),
            }
        )


def register(router) -> None:
    router.register("customer-exports", CustomerExportViewSet, basename="customerexport")
