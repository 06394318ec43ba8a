"""The area settlement 面积补差 and certificates 权证 API (issue 14), under ``/api/v1/``.

* ``GET /measured-areas/?project=``: the measured areas (those who see the project's
  after sales); ``POST /projects/{project_id}/measured-areas/import/`` (multipart
  ``file``; ``?dry_run=1`` previews) and ``GET …/template/``, as the units import.
* ``GET /settlements/`` (filters ``project``, ``band``, ``status``, ``rule``,
  ``building``, ``q``), ``GET /settlements/{id}/``; ``POST /settlements/`` computes a
  deal's settlement ``{"deal", "clause"?, "threshold"?, "double_refund"?, "legal"?}``;
  ``POST …/{id}/notify/``, ``POST …/{id}/refund-paid/`` (finance).
* ``GET /certificates/`` (filters ``project``, ``stage``, ``outstanding``, ``min_days``,
  ``q``), ``GET /certificates/{id}/``, ``POST /certificates/`` opens ``{"deal"}``;
  ``POST …/{id}/move/``, ``…/check-document/``, ``…/register-mortgage/``.
* ``POST /calculators/area-settlement/``: one case under Art. 20, nothing saved, open to
  every signed-in user.

Numbers travel as strings; a JSON float is refused (``NoFloatsMixin``). Every write goes
through ``aftersales.settlement``; refusals have the one error shape."""

import django_filters
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from loupan.accounts import access
from loupan.core.api import named_choices, project_param
from loupan.core.errors import invalid
from loupan.core.import_views import ImportApiViewSet
from loupan.core.viewsets import RestrictedViewSet
from loupan.deals.models import Deal
from loupan.inventory.models import Project
from loupan.payments.api.serializers import NoFloatsMixin
from loupan.payments.models import RECEIVED_METHOD_CHOICES, Method

from .. import settlement as s
from ..models import (
    Certificate,
    CertificateEvent,
    CertificateStage,
    MeasuredArea,
    Settlement,
    SettlementRule,
    SettlementStatus,
)

MONEY = {"max_digits": 14, "decimal_places": 2}
AREA = {"max_digits": 10, "decimal_places": 2}


_choices = named_choices


StageField = _choices("CertificateStage", CertificateStage.choices)
EventStageField = _choices("CertificateEventStage", CertificateStage.choices, blank=True)
RuleField = _choices("SettlementRule", SettlementRule.choices)
StatusField = _choices("SettlementStatus", SettlementStatus.choices)
BandField = _choices("SettlementBand", s.BAND_CHOICES)
REFUND_METHODS = [c for c in RECEIVED_METHOD_CHOICES if c[0] != Method.MORTGAGE]
RefundMethodField = _choices("SettlementRefundMethod", REFUND_METHODS)


def _project_of(request):
    return project_param(request, required=False)


# --- the calculator ----------------------------------------------------------------------------


class AreaSettlementSerializer(NoFloatsMixin, serializers.Serializer):
    """One case: the contract area, the measured area and the contract unit price, as
    strings."""

    contract_area = serializers.DecimalField(
        **AREA, label=gettext_lazy("合同面积（㎡）"), help_text=gettext_lazy("如“100.00”")
    )
    measured_area = serializers.DecimalField(
        **AREA, label=gettext_lazy("实测面积（㎡）"), help_text=gettext_lazy("如“105.00”")
    )
    unit_price = serializers.DecimalField(
        **MONEY, label=gettext_lazy("合同单价（元/㎡）"), help_text=gettext_lazy("如“20000.00”")
    )


class AreaSettlementResultSerializer(serializers.Serializer):
    error_ratio = serializers.DecimalField(
        max_digits=8, decimal_places=2, label=gettext_lazy("面积误差比（%）")
    )
    amount = serializers.DecimalField(
        **MONEY,
        label=gettext_lazy("补差金额"),
        help_text=gettext_lazy("买受人补交为正，出卖人返还为负"),
    )
    developer_bears = serializers.DecimalField(
        **MONEY,
        label=gettext_lazy("开发商承担"),
        help_text=gettext_lazy("超出 3% 的面积不收的房款，或超出 −3% 部分的第二倍返还"),
    )
    buyer_may_cancel = serializers.BooleanField(label=gettext_lazy("买受人可退房"))
    workings = serializers.ListField(child=serializers.CharField(), label=gettext_lazy("计算过程"))


class AreaSettlementCalculatorView(APIView):
    """面积补差计算器 (商品房销售管理办法第二十条): computes one case, writes nothing; open to
    every signed-in user."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="calculators_area_settlement",
        request=AreaSettlementSerializer,
        responses={200: AreaSettlementResultSerializer},
    )
    def post(self, request):
        serializer = AreaSettlementSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = s.calculate(**serializer.validated_data)
        return Response(
            {
                "error_ratio": str(result.error_ratio),
                "amount": str(result.amount),
                "developer_bears": str(result.developer_bears),
                "buyer_may_cancel": result.buyer_may_cancel,
                "workings": [str(line) for line in result.workings],
            }
        )


# --- measured areas -----------------------------------------------------------------------------


class MeasuredAreaSerializer(serializers.ModelSerializer):
    project = serializers.IntegerField(source="unit.project_id", read_only=True)
    building = serializers.CharField(source="unit.building.name", read_only=True)
    unit_number = serializers.CharField(source="unit.number", read_only=True)

    class Meta:
        model = MeasuredArea
        fields = [
            "id",
            "project",
            "unit",
            "building",
            "unit_number",
            "gross_area",
            "internal_area",
            "surveyed_on",
            "report",
            "imported_by",
            "imported_at",
        ]
        read_only_fields = fields


class MeasuredAreaFilterSet(django_filters.FilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="unit__project_id")
    building = django_filters.NumberFilter(
        label=gettext_lazy("楼栋"), field_name="unit__building_id"
    )

    class Meta:
        model = MeasuredArea
        fields = ["project", "building"]


class MeasuredAreaViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """实测面积 of the projects whose after sales the caller sees (``aftersales.view``)."""

    serializer_class = MeasuredAreaSerializer
    filterset_class = MeasuredAreaFilterSet

    def get_queryset(self):
        projects = access.projects_with(self.request.user, "aftersales.view")
        qs = MeasuredArea.objects.select_related("unit__building").order_by("unit__number", "pk")
        if self.request.user.is_superuser:
            return qs
        return qs.filter(unit__project_id__in=projects)


@extend_schema_view(
    import_file=extend_schema(
        operation_id="measured_areas_import",
        description="导入实测面积 xlsx：全部正确才写入（全部或全不）；dry_run=1 只检查（预览）。",
    ),
    template=extend_schema(
        operation_id="measured_areas_import_template", description="下载实测面积导入模板 xlsx。"
    ),
)
class MeasuredAreaImportViewSet(ImportApiViewSet):
    """The surveyor's xlsx in, as the units import."""

    queryset = Project.objects.all()
    spec = s.MEASURED


# --- settlements -------------------------------------------------------------------------------


class SettlementSerializer(serializers.ModelSerializer):
    deal_number = serializers.CharField(source="deal.number", read_only=True)
    unit = serializers.CharField(source="deal.unit.number", read_only=True)
    customer = serializers.CharField(source="deal.customer.name", read_only=True)
    rule = RuleField(choices=SettlementRule.choices, read_only=True, label=gettext_lazy("补差规则"))
    status = StatusField(
        choices=SettlementStatus.choices, read_only=True, label=gettext_lazy("状态")
    )
    band = serializers.SerializerMethodField(label=gettext_lazy("误差区间"))
    status_now = serializers.SerializerMethodField(label=gettext_lazy("当前状态"))

    class Meta:
        model = Settlement
        fields = [
            "id",
            "project",
            "deal",
            "deal_number",
            "unit",
            "customer",
            "rule",
            "clause",
            "basis",
            "contract_area",
            "measured_area",
            "unit_price",
            "error_ratio",
            "amount",
            "developer_bears",
            "buyer_may_cancel",
            "band",
            "status",
            "status_now",
            "notified_at",
            "schedule_item",
            "computed_by",
            "computed_at",
        ]
        read_only_fields = fields

    @extend_schema_field(BandField(choices=s.BAND_CHOICES))
    def get_band(self, obj) -> str:
        return s.band_of(obj)

    @extend_schema_field(StatusField(choices=SettlementStatus.choices))
    def get_status_now(self, obj) -> str:
        return str(s.status_now(obj))


class SettlementDetailSerializer(SettlementSerializer):
    workings = serializers.ListField(child=serializers.CharField(), read_only=True)
    can = serializers.SerializerMethodField(label=gettext_lazy("可执行操作"))

    class Meta(SettlementSerializer.Meta):
        fields = [*SettlementSerializer.Meta.fields, "workings", "can"]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "compute": {"type": "boolean"},
                "notify": {"type": "boolean"},
                "refund": {"type": "boolean"},
                "cancel": {"type": "boolean"},
            },
        }
    )
    def get_can(self, obj):
        request = self.context.get("request")
        return s.settlement_abilities(request.user, obj) if request else {}


class SettlementComputeSerializer(NoFloatsMixin, serializers.Serializer):
    """Compute a contracted deal's settlement (the legal rule unless an approved clause
    of the contract is named as the area clause)."""

    deal = serializers.IntegerField(label=gettext_lazy("交易"))
    clause = serializers.IntegerField(
        label=gettext_lazy("合同约定的面积条款"), required=False, allow_null=True, default=None
    )
    threshold = serializers.DecimalField(
        max_digits=4,
        decimal_places=2,
        label=gettext_lazy("约定误差比限度（%）"),
        required=False,
        allow_null=True,
        default=None,
    )
    double_refund = serializers.BooleanField(
        label=gettext_lazy("超出限度部分双倍返还"), required=False, allow_null=True, default=None
    )
    legal = serializers.BooleanField(
        label=gettext_lazy("改按法定规则"), required=False, default=False
    )


class SettlementNotifySerializer(serializers.Serializer):
    due_days = serializers.IntegerField(
        label=gettext_lazy("补交期限（天）"),
        required=False,
        default=s.DUE_DAYS,
        min_value=1,
        max_value=180,
    )


class SettlementRefundSerializer(NoFloatsMixin, serializers.Serializer):
    method = RefundMethodField(
        choices=REFUND_METHODS,
        label=gettext_lazy("退款方式"),
        required=False,
        default=Method.TRANSFER,
    )
    paid_on = serializers.DateField(
        label=gettext_lazy("退款日期"), required=False, allow_null=True, default=None
    )
    bank_reference = serializers.CharField(
        label=gettext_lazy("银行流水号"),
        required=False,
        allow_blank=True,
        default="",
        max_length=60,
    )


class SettlementApiFilterSet(s.SettlementFilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")

    class Meta(s.SettlementFilterSet.Meta):
        fields = [*s.SettlementFilterSet.Meta.fields, "project"]


def _input(request, serializer_class):
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _deal_for(request, pk) -> Deal:
    deal = (
        Deal.objects.restrict(request.user, "view")
        .select_related("project", "unit")
        .filter(pk=pk)
        .first()
    )
    if deal is None or not s.may_see(request.user, deal):
        raise invalid("deal", _("交易不存在"))
    return deal


class SettlementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """面积补差 the caller may see (``aftersales.view``: the project's; a consultant with
    ``aftersales.view_own``: their own buyers')."""

    queryset = Settlement.objects.select_related(
        "deal__unit", "deal__customer", "deal__project"
    ).order_by("deal__unit__number", "pk")
    serializer_class = SettlementSerializer
    filterset_class = SettlementApiFilterSet
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        return s.with_item_paid(super().get_queryset())

    def get_serializer_class(self):
        return SettlementSerializer if self.action == "list" else SettlementDetailSerializer

    def _answer(self, settlement, code=status.HTTP_200_OK):
        fresh = self.get_queryset().get(pk=settlement.pk)
        return Response(
            SettlementDetailSerializer(fresh, context=self.get_serializer_context()).data,
            status=code,
        )

    def _settlement(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(request=SettlementComputeSerializer, responses={201: SettlementDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Compute (or recompute, while not yet notified) a contracted deal's settlement."""
        data = dict(_input(request, SettlementComputeSerializer))
        deal = _deal_for(request, data.pop("deal"))
        settlement = s.settlement_compute(actor=request.user, deal=deal, **data)
        return self._answer(settlement, status.HTTP_201_CREATED)

    @extend_schema(request=SettlementNotifySerializer, responses=SettlementDetailSerializer)
    @action(detail=True, methods=["post"])
    def notify(self, request, pk=None):
        """The buyer notified: an amount due becomes a schedule item, a refund goes to
        finance."""
        settlement = self._settlement()
        data = _input(request, SettlementNotifySerializer)
        return self._answer(s.settlement_notify(actor=request.user, settlement=settlement, **data))

    @extend_schema(request=SettlementRefundSerializer, responses=SettlementDetailSerializer)
    @action(detail=True, methods=["post"], url_path="refund-paid")
    def refund_paid(self, request, pk=None):
        """Finance pays the refund out (a refund entry of the ledger)."""
        settlement = self._settlement()
        data = _input(request, SettlementRefundSerializer)
        return self._answer(
            s.settlement_refund_paid(actor=request.user, settlement=settlement, **data)
        )


# --- certificates ------------------------------------------------------------------------------


class CertificateEventSerializer(serializers.ModelSerializer):
    from_stage = EventStageField(choices=CertificateStage.choices, read_only=True, allow_blank=True)
    to_stage = StageField(choices=CertificateStage.choices, read_only=True)
    by_name = serializers.SerializerMethodField()

    class Meta:
        model = CertificateEvent
        fields = ["from_stage", "to_stage", "note", "by", "by_name", "at"]
        read_only_fields = fields

    def get_by_name(self, obj) -> str:
        return obj.by.real_name or obj.by.username


class DocumentSerializer(serializers.Serializer):
    name = serializers.CharField()
    done = serializers.BooleanField()
    on = serializers.DateField(allow_null=True)


class CertificateSerializer(serializers.ModelSerializer):
    deal_number = serializers.CharField(source="deal.number", read_only=True)
    unit = serializers.CharField(source="deal.unit.number", read_only=True)
    customer = serializers.CharField(source="deal.customer.name", read_only=True)
    stage = StageField(choices=CertificateStage.choices, read_only=True)
    days_in_stage = serializers.SerializerMethodField()
    documents = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = [
            "id",
            "project",
            "deal",
            "deal_number",
            "unit",
            "customer",
            "stage",
            "stage_since",
            "days_in_stage",
            "filed_on",
            "submitted_on",
            "issued_on",
            "handed_on",
            "certificate_number",
            "documents",
            "mortgage_needed",
            "mortgage_registered_on",
            "note",
        ]
        read_only_fields = fields

    def get_days_in_stage(self, obj) -> int:
        return s.days_in_stage(obj, self.context.get("today"))

    @extend_schema_field(DocumentSerializer(many=True))
    def get_documents(self, obj):
        return [
            {"name": d.get("name", ""), "done": bool(d.get("done")), "on": d.get("on")}
            for d in obj.documents
        ]


class CertificateDetailSerializer(CertificateSerializer):
    events = CertificateEventSerializer(many=True, read_only=True)
    can = serializers.SerializerMethodField()

    class Meta(CertificateSerializer.Meta):
        fields = [*CertificateSerializer.Meta.fields, "events", "can"]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "change": {"type": "boolean"},
                "move": {"type": "boolean"},
                "mortgage": {"type": "boolean"},
            },
        }
    )
    def get_can(self, obj):
        request = self.context.get("request")
        return s.certificate_abilities(request.user, obj) if request else {}


class CertificateOpenSerializer(serializers.Serializer):
    deal = serializers.IntegerField(label=gettext_lazy("交易"))
    on = serializers.DateField(
        label=gettext_lazy("备案日期"), required=False, allow_null=True, default=None
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class CertificateMoveSerializer(serializers.Serializer):
    to_stage = StageField(choices=CertificateStage.choices, label=gettext_lazy("新阶段"))
    on = serializers.DateField(required=False, allow_null=True, default=None)
    certificate_number = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=60
    )
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=300)


class CertificateDocumentSerializer(serializers.Serializer):
    name = serializers.CharField()
    done = serializers.BooleanField()


class CertificateMortgageSerializer(serializers.Serializer):
    on = serializers.DateField(required=False, allow_null=True, default=None)


class CertificateApiFilterSet(s.CertificateFilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")

    class Meta(s.CertificateFilterSet.Meta):
        fields = [*s.CertificateFilterSet.Meta.fields, "project"]


class CertificateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """权证 the caller may see, with the days in stage as of today."""

    queryset = Certificate.objects.select_related(
        "deal__unit", "deal__customer", "deal__project"
    ).order_by("stage_since", "pk")
    serializer_class = CertificateSerializer
    filterset_class = CertificateApiFilterSet
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self):
        return CertificateSerializer if self.action == "list" else CertificateDetailSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def get_queryset(self):
        qs = super().get_queryset()
        return qs if self.action == "list" else qs.prefetch_related("events__by")

    def _answer(self, cert, code=status.HTTP_200_OK):
        fresh = self.get_queryset().prefetch_related("events__by").get(pk=cert.pk)
        return Response(
            CertificateDetailSerializer(fresh, context=self.get_serializer_context()).data,
            status=code,
        )

    def _cert(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    @extend_schema(request=CertificateOpenSerializer, responses={201: CertificateDetailSerializer})
    def create(self, request, *args, **kwargs):
        """Open a contracted deal's certificate file (合同登记备案)."""
        data = dict(_input(request, CertificateOpenSerializer))
        deal = _deal_for(request, data.pop("deal"))
        return self._answer(
            s.certificate_open(actor=request.user, deal=deal, **data), status.HTTP_201_CREATED
        )

    @extend_schema(request=CertificateMoveSerializer, responses=CertificateDetailSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """合同登记备案 → 转移登记已递交 → 不动产权证已出证 (certificate_number) → 已交业主."""
        cert = self._cert()
        data = _input(request, CertificateMoveSerializer)
        return self._answer(s.certificate_move(actor=request.user, certificate=cert, **data))

    @extend_schema(request=CertificateDocumentSerializer, responses=CertificateDetailSerializer)
    @action(detail=True, methods=["post"], url_path="check-document")
    def check_document(self, request, pk=None):
        cert = self._cert()
        data = _input(request, CertificateDocumentSerializer)
        return self._answer(
            s.certificate_check_document(actor=request.user, certificate=cert, **data)
        )

    @extend_schema(request=CertificateMortgageSerializer, responses=CertificateDetailSerializer)
    @action(detail=True, methods=["post"], url_path="register-mortgage")
    def register_mortgage(self, request, pk=None):
        """Record the mortgage registration 抵押登记."""
        cert = self._cert()
        data = _input(request, CertificateMortgageSerializer)
        return self._answer(
            s.certificate_register_mortgage(actor=request.user, certificate=cert, **data)
        )


urlpatterns: list = [
    path(
        "calculators/area-settlement/",
        AreaSettlementCalculatorView.as_view(),
        name="area-settlement-calculator",
    ),
]


def register(router) -> None:
    """Register this part's viewsets on the API router."""
    router.register("measured-areas", MeasuredAreaViewSet, basename="measuredarea")
    router.register(
        r"projects/(?P<project_id>[0-9]+)/measured-areas",
        MeasuredAreaImportViewSet,
        basename="measuredarea-import",
    )
    router.register("settlements", SettlementViewSet, basename="settlement")
    router.register("certificates", CertificateViewSet, basename="certificate")
