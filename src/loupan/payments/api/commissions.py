"""The commissions API 佣金 (issue 13 "Commissions"), under ``/api/v1/``:

* ``commission-statements/`` — the monthly statements 结佣函 the caller may see (a
  consultant their own; ``commission.view`` every one of the project). Filters:
  ``project``, ``month`` (``YYYY-MM``), ``consultant`` (user id), ``status``. The detail
  carries its entries and the total in capital numerals.
  ``POST commission-statements/build/`` ``{"project": id, "month": "YYYY-MM",
  "consultant": id (optional)}`` builds the month's draft statements from the unsettled
  entries (``commission.confirm``) and answers the statements built;
  ``POST commission-statements/<id>/confirm/`` confirms one (``commission.confirm``, not
  the earner themself) — it is frozen from then on.
* ``commission-entries/`` — the computed entries (read only). Filters: ``project``,
  ``deal``, ``earner``, ``statement``, ``month`` (earned, ``YYYY-MM``), ``settled``
  (on a statement or not), ``clawback``.
* ``commission-plans/<project_id>/`` — GET the project's plan (any commission
  permission on the project; 404 when the project has none), PUT it whole
  (``commission.configure``): ``{"rate_permille": "3", "assist_share_pct": "30",
  "stages": [{"id": 1 (optional, keeps the stage), "name": "回款30%", "event":
  "received_pct", "threshold_pct": "30", "share_pct": "70"}, …]}``.

Money and percentages are strings (a JSON float is refused); errors have the one shape
``{"code", "message", "fields"}`` with the field paths of the request
(``stages[1].share_pct``)."""

from django.contrib.auth import get_user_model
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from loupan.accounts import access
from loupan.core.errors import invalid
from loupan.core.money import rmb_upper
from loupan.core.viewsets import ReadOnlyRestrictedViewSet
from loupan.inventory.models import Project
from loupan.payments import commissions as c
from loupan.payments.models import (
    CommissionEntry,
    CommissionEvent,
    CommissionStatement,
    StatementStatus,
)

from .serializers import NoFloatsMixin

SEE = ("commission.view", "commission.view_own", "commission.configure")


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^(" + "|".join(StatementStatus.values) + ")$",
        "description": "draft 待确认 · confirmed 已确认",
    }
)
class StatementStatusField(serializers.CharField):
    """The statement's status (draft / confirmed), described inline: an enum component
    named ``Status…`` would collide with the other apps' ``status`` enums (the schema
    warns), and ENUM_NAME_OVERRIDES lives in settings."""


# --- shapes -------------------------------------------------------------------------------


class CommissionEntrySerializer(serializers.ModelSerializer):
    deal_number = serializers.SerializerMethodField(label=gettext_lazy("合同 / 认购书编号"))
    unit = serializers.CharField(
        source="deal.unit.number", read_only=True, label=gettext_lazy("房间")
    )
    earner_name = serializers.SerializerMethodField(label=gettext_lazy("获佣人"))
    stage_name = serializers.CharField(
        source="stage.name", read_only=True, default="", label=gettext_lazy("结佣阶段")
    )

    class Meta:
        model = CommissionEntry
        fields = [
            "id",
            "project",
            "deal",
            "deal_number",
            "unit",
            "earner",
            "earner_name",
            "stage",
            "stage_name",
            "clawback",
            "assist",
            "base",
            "amount",
            "earned_on",
            "statement",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_deal_number(self, obj) -> str:
        return obj.deal.contract_number or obj.deal.number

    @extend_schema_field(OpenApiTypes.STR)
    def get_earner_name(self, obj) -> str:
        return obj.earner.real_name or obj.earner.username


class CommissionStatementSerializer(serializers.ModelSerializer):
    month = serializers.DateField(format="%Y-%m", read_only=True, label=gettext_lazy("月份"))
    consultant_name = serializers.SerializerMethodField(label=gettext_lazy("置业顾问"))
    status = StatementStatusField(read_only=True, label=gettext_lazy("状态"))
    status_display = serializers.CharField(source="get_status_display", read_only=True)

    class Meta:
        model = CommissionStatement
        fields = [
            "id",
            "project",
            "consultant",
            "consultant_name",
            "month",
            "status",
            "status_display",
            "total",
            "confirmed_by",
            "confirmed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_consultant_name(self, obj) -> str:
        return obj.consultant.real_name or obj.consultant.username


class CommissionStatementDetailSerializer(CommissionStatementSerializer):
    total_upper = serializers.SerializerMethodField(label=gettext_lazy("合计（大写）"))
    entries = CommissionEntrySerializer(many=True, read_only=True)

    class Meta(CommissionStatementSerializer.Meta):
        fields = [*CommissionStatementSerializer.Meta.fields, "total_upper", "entries"]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.STR)
    def get_total_upper(self, obj) -> str:
        return rmb_upper(obj.total)


class BuildSerializer(serializers.Serializer):
    project = serializers.IntegerField(label=gettext_lazy("项目"))
    month = serializers.RegexField(
        r"^\d{4}-\d{2}$", label=gettext_lazy("月份"), help_text=gettext_lazy("YYYY-MM")
    )
    consultant = serializers.IntegerField(
        required=False,
        allow_null=True,
        label=gettext_lazy("置业顾问"),
        help_text="用户 id；省略则全部",
    )


class StageSerializer(serializers.Serializer):
    id = serializers.IntegerField(
        required=False, allow_null=True, help_text=gettext_lazy("已有阶段的 id；省略为新增")
    )
    name = serializers.CharField(max_length=50, label=gettext_lazy("名称"))
    event = serializers.ChoiceField(choices=CommissionEvent.choices, label=gettext_lazy("条件"))
    threshold_pct = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        required=False,
        allow_null=True,
        label=gettext_lazy("回款比例（%）"),
        help_text=gettext_lazy("仅 received_pct：0 < t ≤ 100"),
    )
    share_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, label=gettext_lazy("发放比例（%）")
    )


class PlanSerializer(NoFloatsMixin, serializers.Serializer):
    project = serializers.IntegerField(read_only=True)
    rate_permille = serializers.DecimalField(
        max_digits=6, decimal_places=3, label=gettext_lazy("佣金比例（‰）")
    )
    assist_share_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, default="0", label=gettext_lazy("协助人分成（%）")
    )
    stages = StageSerializer(many=True, label=gettext_lazy("结佣阶段"))


def plan_data(project) -> dict:
    plan = c.plan_of(project)
    return {
        "project": project.pk,
        "rate_permille": plan.rate_permille,
        "assist_share_pct": plan.assist_share_pct,
        "stages": [
            {
                "id": s.pk,
                "name": s.name,
                "event": s.event,
                "threshold_pct": s.threshold_pct,
                "share_pct": s.share_pct,
            }
            for s in c.stages_of(project)
        ],
    }


# --- views --------------------------------------------------------------------------------


class CommissionStatementViewSet(ReadOnlyRestrictedViewSet):
    """结佣函: the monthly commission statements the caller may see."""

    queryset = CommissionStatement.objects.select_related("consultant", "confirmed_by", "project")
    serializer_class = CommissionStatementSerializer
    filterset_class = c.StatementFilterSet

    def get_queryset(self):
        return super().get_queryset().order_by("-month", "consultant_id", "pk")

    def get_serializer_class(self):
        if self.action == "list":
            return CommissionStatementSerializer
        return CommissionStatementDetailSerializer

    @extend_schema(request=BuildSerializer, responses=CommissionStatementSerializer(many=True))
    @action(detail=False, methods=["post"], filterset_class=None, pagination_class=None)
    def build(self, request):
        """Build the month's draft statements from the unsettled entries (all earners,
        or ``consultant``); answers the statements built or refreshed."""
        serializer = BuildSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = Project.objects.restrict(request.user, "view").filter(pk=data["project"]).first()
        if project is None:
            raise invalid("project", _("项目不存在"))
        consultant = None
        if data.get("consultant"):
            consultant = (
                get_user_model()
                .objects.filter(pk=data["consultant"], memberships__project=project)
                .first()
            )
            if consultant is None:
                raise invalid("consultant", _("该用户不是本项目成员"))
        built = c.statement_build(
            actor=request.user, project=project, month=data["month"], consultant=consultant
        )
        return Response(CommissionStatementSerializer(built, many=True).data)

    @extend_schema(request=None, responses=CommissionStatementDetailSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """Confirm the statement (the manager; never the earner themself)."""
        statement = c.statement_confirm(actor=request.user, statement=self.get_object())
        statement = self.get_queryset().get(pk=statement.pk)
        return Response(CommissionStatementDetailSerializer(statement).data)


class CommissionEntryViewSet(ReadOnlyRestrictedViewSet):
    """佣金明细: computed by the daily job, never typed; read only."""

    queryset = CommissionEntry.objects.select_related("deal__unit", "earner", "stage")
    serializer_class = CommissionEntrySerializer
    filterset_class = c.EntryFilterSet

    def get_queryset(self):
        return super().get_queryset().order_by("earned_on", "pk")


class CommissionPlanView(APIView):
    """佣金方案 of a project: GET (any commission permission on the project), PUT the
    whole plan (``commission.configure``)."""

    parser_classes = [JSONParser]
    serializer_class = PlanSerializer

    def _project(self, request, project_id):
        project = get_object_or_404(Project.objects.restrict(request.user, "view"), pk=project_id)
        if not any(access.has_perm(request.user, code, project) for code in SEE):
            raise Http404
        return project

    @extend_schema(operation_id="commission_plans_retrieve", responses=PlanSerializer)
    def get(self, request, project_id):
        project = self._project(request, project_id)
        if c.plan_of(project) is None:
            raise Http404
        return Response(PlanSerializer(plan_data(project)).data)

    @extend_schema(
        operation_id="commission_plans_update", request=PlanSerializer, responses=PlanSerializer
    )
    def put(self, request, project_id):
        project = self._project(request, project_id)
        access.require_perm(request.user, "commission.configure", project)
        serializer = PlanSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        c.commission_plan_set(
            actor=request.user,
            project=project,
            rate_permille=data["rate_permille"],
            assist_share_pct=data["assist_share_pct"],
            stages=[dict(s) for s in data["stages"]],
        )
        return Response(PlanSerializer(plan_data(project)).data)


urlpatterns: list = [
    path(
        "commission-plans/<int:project_id>/",
        CommissionPlanView.as_view(),
        name="commission-plan",
    ),
]


def register(router) -> None:
    """Register this part's viewsets on the API router."""
    router.register(
        "commission-statements", CommissionStatementViewSet, basename="commissionstatement"
    )
    router.register("commission-entries", CommissionEntryViewSet, basename="commissionentry")
