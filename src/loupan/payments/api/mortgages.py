"""The mortgages API 按揭 (issue 13 "Mortgages"): ``/api/v1/mortgages/``.

* ``GET /mortgages/`` (filters ``project``, ``stage``, ``loan_type``, ``bank``,
  ``follower``, ``min_days``, ``q``) and ``GET /mortgages/{id}/``: the mortgages the
  caller may see (a consultant: their own deals'; another's is a 404), with the days in
  stage computed as of today.
* ``POST /mortgages/`` opens a deal's mortgage; ``PATCH /mortgages/{id}/`` corrects its
  terms; ``POST /mortgages/{id}/move/``, ``…/check-document/`` and ``…/disburse/``
  (finance) are the actions.
* ``GET /mortgages/reconciliation/?project=&month=YYYY-MM``: expected versus received per
  bank for the month.

Amounts and rates travel as strings; a JSON float is refused (``NoFloatsMixin``). Every
write goes through ``payments.mortgages``; refusals have the one error shape."""

import django_filters
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.core.api import named_choices, project_param
from loupan.core.errors import DomainError, ErrorCode, invalid
from loupan.core.viewsets import RestrictedViewSet
from loupan.deals.models import Deal
from loupan.payments import mortgages as m
from loupan.payments.models import LoanType, Mortgage, MortgageEvent, MortgageStage, RejectionNext

from .serializers import NoFloatsMixin

MONEY = {"max_digits": 14, "decimal_places": 2}
RATE = {"max_digits": 6, "decimal_places": 3}

urlpatterns: list = []


_choices = named_choices


StageField = _choices("MortgageStage", MortgageStage.choices)
LoanTypeField = _choices("MortgageLoanType", LoanType.choices)
RejectionNextField = _choices("MortgageRejectionNext", RejectionNext.choices, blank=True)
HOMES = [("first", gettext_lazy("首套")), ("second", gettext_lazy("二套"))]
HomeField = _choices("MortgageHome", HOMES)


# --- output --------------------------------------------------------------------------------


class MortgageEventSerializer(serializers.ModelSerializer):
    by_name = serializers.SerializerMethodField(label=gettext_lazy("经办人"))
    from_stage = StageField(choices=MortgageStage.choices, read_only=True, allow_blank=True)
    to_stage = StageField(choices=MortgageStage.choices, read_only=True)

    class Meta:
        model = MortgageEvent
        fields = ["from_stage", "to_stage", "note", "by", "by_name", "at"]
        read_only_fields = fields

    def get_by_name(self, obj) -> str:
        return obj.by.real_name or obj.by.username


class MortgageDocumentSerializer(serializers.Serializer):
    """One document of the checklist."""

    name = serializers.CharField(label=gettext_lazy("资料"))
    done = serializers.BooleanField(label=gettext_lazy("已收"))
    on = serializers.DateField(label=gettext_lazy("收到日期"), allow_null=True)


class MortgageSerializer(serializers.ModelSerializer):
    """A mortgage as the pipeline shows it."""

    deal_number = serializers.CharField(source="deal.number", read_only=True)
    unit = serializers.CharField(source="deal.unit.number", read_only=True)
    customer = serializers.CharField(source="deal.customer.name", read_only=True)
    consultant = serializers.IntegerField(source="deal.consultant_id", read_only=True)
    loan_total = serializers.DecimalField(**MONEY, read_only=True, label=gettext_lazy("贷款合计"))
    days_in_stage = serializers.SerializerMethodField(label=gettext_lazy("本阶段天数"))
    documents = serializers.SerializerMethodField(label=gettext_lazy("资料清单"))
    stage = StageField(
        choices=MortgageStage.choices, read_only=True, label=gettext_lazy("办理阶段")
    )
    loan_type = LoanTypeField(
        choices=LoanType.choices, read_only=True, label=gettext_lazy("贷款类型")
    )
    rejection_next = RejectionNextField(
        choices=RejectionNext.choices, read_only=True, label=gettext_lazy("拒贷后处理")
    )

    class Meta:
        model = Mortgage
        fields = [
            "id",
            "project",
            "deal",
            "deal_number",
            "unit",
            "customer",
            "consultant",
            "bank",
            "loan_type",
            "commercial_amount",
            "provident_amount",
            "loan_total",
            "years",
            "commercial_rate",
            "provident_rate",
            "stage",
            "stage_since",
            "days_in_stage",
            "documents",
            "follower",
            "submitted_on",
            "approved_on",
            "disbursed_on",
            "rejected_on",
            "rejection_next",
            "note",
            "created_at",
        ]
        read_only_fields = fields

    def get_days_in_stage(self, obj) -> int:
        return m.days_in_stage(obj, self.context.get("today"))

    @extend_schema_field(MortgageDocumentSerializer(many=True))
    def get_documents(self, obj):
        return [
            {"name": d.get("name", ""), "done": bool(d.get("done")), "on": d.get("on")}
            for d in obj.documents
        ]


class MortgageDetailSerializer(MortgageSerializer):
    """A mortgage with what the banks have paid, its history and what the caller may
    do."""

    disbursed = serializers.SerializerMethodField(label=gettext_lazy("已放款"))
    events = MortgageEventSerializer(many=True, read_only=True)
    can = serializers.SerializerMethodField(label=gettext_lazy("可执行操作"))

    class Meta(MortgageSerializer.Meta):
        fields = [*MortgageSerializer.Meta.fields, "disbursed", "events", "can"]
        read_only_fields = fields

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_disbursed(self, obj):
        return str(m.disbursed_of(obj))

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "change": {"type": "boolean"},
                "move": {"type": "boolean"},
                "disburse": {"type": "boolean"},
                "next_stages": {"type": "array", "items": {"type": "string"}},
            },
        }
    )
    def get_can(self, obj):
        request = self.context.get("request")
        answers = m.abilities(request.user, obj) if request else {}
        return {**answers, "next_stages": m.next_stages(obj) if answers.get("move") else []}


# --- input ---------------------------------------------------------------------------------


class MortgageTermsSerializer(NoFloatsMixin, serializers.Serializer):
    """A loan's terms: amounts and rates as strings (a JSON float is refused)."""

    bank = serializers.CharField(label=gettext_lazy("贷款银行"), max_length=50)
    loan_type = LoanTypeField(label=gettext_lazy("贷款类型"), choices=LoanType.choices)
    commercial_amount = serializers.DecimalField(
        **MONEY, label=gettext_lazy("商贷金额"), required=False, default="0"
    )
    provident_amount = serializers.DecimalField(
        **MONEY, label=gettext_lazy("公积金贷款金额"), required=False, default="0"
    )
    years = serializers.IntegerField(label=gettext_lazy("贷款年限"), help_text="1–30")
    commercial_rate = serializers.DecimalField(
        **RATE,
        label=gettext_lazy("商贷年利率（%）"),
        required=False,
        allow_null=True,
        default=None,
    )
    provident_rate = serializers.DecimalField(
        **RATE,
        label=gettext_lazy("公积金年利率（%）"),
        required=False,
        allow_null=True,
        default=None,
    )
    follower = serializers.IntegerField(
        label=gettext_lazy("按揭专员"), required=False, allow_null=True, default=None
    )
    home = HomeField(
        choices=HOMES,
        label=gettext_lazy("首套 / 二套"),
        required=False,
        default="first",
        help_text=gettext_lazy("按项目最低首付比例核定可贷上限"),
    )
    note = serializers.CharField(
        label=gettext_lazy("备注"), required=False, allow_blank=True, default="", max_length=300
    )


class MortgageOpenSerializer(MortgageTermsSerializer):
    """按揭建档: the deal (by id) and the loan's terms."""

    deal = serializers.IntegerField(label=gettext_lazy("交易"))


class MortgageMoveSerializer(NoFloatsMixin, serializers.Serializer):
    """A move to another stage, with the day it happened."""

    to_stage = StageField(label=gettext_lazy("新阶段"), choices=MortgageStage.choices)
    on = serializers.DateField(
        label=gettext_lazy("日期"), required=False, allow_null=True, default=None
    )
    note = serializers.CharField(
        label=gettext_lazy("说明"), required=False, allow_blank=True, default="", max_length=300
    )
    rejection_next = RejectionNextField(
        label=gettext_lazy("拒贷后处理"),
        choices=RejectionNext.choices,
        required=False,
        allow_blank=True,
        default="",
    )
    bank = serializers.CharField(
        label=gettext_lazy("新的贷款银行"),
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("拒贷后重新办理（转为资料收集）时必填"),
    )


class MortgageCheckDocumentSerializer(serializers.Serializer):
    """One document of the checklist, received or not."""

    name = serializers.CharField(label=gettext_lazy("资料"))
    done = serializers.BooleanField(label=gettext_lazy("已收"))


class MortgageDisburseSerializer(NoFloatsMixin, serializers.Serializer):
    """The bank's disbursement as finance records it (the amount as a string)."""

    amount = serializers.DecimalField(**MONEY, label=gettext_lazy("放款金额"))
    paid_on = serializers.DateField(
        label=gettext_lazy("到账日期"), required=False, allow_null=True, default=None
    )
    bank_reference = serializers.CharField(label=gettext_lazy("银行流水号"), max_length=60)


class MortgageDisburseResultSerializer(serializers.Serializer):
    """The receipt issued and the mortgage as it is now."""

    receipt = serializers.IntegerField(label=gettext_lazy("收据"))
    receipt_number = serializers.CharField(label=gettext_lazy("收据编号"))
    amount = serializers.DecimalField(**MONEY, label=gettext_lazy("金额"))
    mortgage = MortgageDetailSerializer()


class MortgageReconciliationRowSerializer(serializers.Serializer):
    """One bank's line of the reconciliation."""

    bank = serializers.CharField(label=gettext_lazy("贷款银行"))
    expected = serializers.DecimalField(**MONEY, label=gettext_lazy("应到"))
    received = serializers.DecimalField(**MONEY, label=gettext_lazy("实到"))
    difference = serializers.DecimalField(
        **MONEY, label=gettext_lazy("差额"), help_text=gettext_lazy("实到 − 应到")
    )
    items = serializers.IntegerField(label=gettext_lazy("应到笔数"))
    entries = serializers.IntegerField(label=gettext_lazy("实到笔数"))


class MortgageReconciliationTotalsSerializer(serializers.Serializer):
    """The reconciliation's totals."""

    expected = serializers.DecimalField(**MONEY)
    received = serializers.DecimalField(**MONEY)
    difference = serializers.DecimalField(**MONEY)


class MortgageReconciliationSerializer(serializers.Serializer):
    """按揭对帐: the month's expected and received loan money per bank."""

    project = serializers.IntegerField(label=gettext_lazy("项目"))
    month = serializers.CharField(label=gettext_lazy("月份"), help_text="YYYY-MM")
    rows = MortgageReconciliationRowSerializer(many=True)
    totals = MortgageReconciliationTotalsSerializer()


# --- filters -------------------------------------------------------------------------------


class MortgageApiFilterSet(m.MortgageFilterSet):
    """The pipeline page's filters plus the project (by id)."""

    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")

    class Meta(m.MortgageFilterSet.Meta):
        fields = [*m.MortgageFilterSet.Meta.fields, "project"]


# --- the viewset ---------------------------------------------------------------------------


class MortgageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Mortgages 按揭 the caller may see (``payment.view``: the project's; a consultant
    with ``payment.view_own``: their own deals')."""

    queryset = Mortgage.objects.select_related(
        "deal__unit", "deal__customer", "deal__consultant", "follower"
    ).order_by("stage_since", "pk")
    serializer_class = MortgageSerializer
    filterset_class = MortgageApiFilterSet
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        qs = super().get_queryset()
        if self.action != "list":
            qs = qs.select_related("deal__project")
        return qs

    def get_serializer_class(self):
        return MortgageSerializer if self.action == "list" else MortgageDetailSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def _input(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def _answer(self, mortgage, code=status.HTTP_200_OK):
        mortgage = self._fresh(mortgage)
        return Response(
            MortgageDetailSerializer(mortgage, context=self.get_serializer_context()).data,
            status=code,
        )

    def _fresh(self, mortgage):
        return (
            self.get_queryset()
            .prefetch_related("events__by")
            .select_related("deal__project")
            .get(pk=mortgage.pk)
        )

    def _mortgage(self) -> Mortgage:
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def retrieve(self, request, *args, **kwargs):
        mortgage = get_object_or_404(
            self.get_queryset().prefetch_related("events__by"), pk=kwargs["pk"]
        )
        return Response(
            MortgageDetailSerializer(mortgage, context=self.get_serializer_context()).data
        )

    @extend_schema(request=MortgageOpenSerializer, responses={201: MortgageDetailSerializer})
    def create(self, request, *args, **kwargs):
        """按揭建档: open the mortgage of a subscribed or contracted deal paid by a loan."""
        data = dict(self._input(MortgageOpenSerializer))
        deal = (
            Deal.objects.restrict(request.user, "view")
            .select_related("project")
            .filter(pk=data.pop("deal"))
            .first()
        )
        if deal is None:
            raise invalid("deal", _("交易不存在"))
        mortgage = m.mortgage_open(actor=request.user, deal=deal, **data)
        return self._answer(mortgage, status.HTTP_201_CREATED)

    @extend_schema(
        request=MortgageTermsSerializer(partial=True), responses=MortgageDetailSerializer
    )
    def partial_update(self, request, *args, **kwargs):
        """Correct the terms, the follower or the note (fields left out stay)."""
        mortgage = self._mortgage()
        serializer = MortgageTermsSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        given = {k: v for k, v in serializer.validated_data.items() if k in request.data}
        mortgage = m.mortgage_update(actor=request.user, mortgage=mortgage, **given)
        return self._answer(mortgage)

    @extend_schema(request=MortgageMoveSerializer, responses=MortgageDetailSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """Move to another stage (资料收集 → 已递交银行 → 审批通过 or 拒贷; 拒贷 → 资料收集
        with another bank). 已放款 follows a disbursement."""
        mortgage = self._mortgage()
        data = self._input(MortgageMoveSerializer)
        return self._answer(m.mortgage_move(actor=request.user, mortgage=mortgage, **data))

    @extend_schema(request=MortgageCheckDocumentSerializer, responses=MortgageDetailSerializer)
    @action(detail=True, methods=["post"], url_path="check-document")
    def check_document(self, request, pk=None):
        """Tick (``done: true``) or untick a document of the checklist."""
        mortgage = self._mortgage()
        data = self._input(MortgageCheckDocumentSerializer)
        return self._answer(
            m.mortgage_check_document(actor=request.user, mortgage=mortgage, **data)
        )

    @extend_schema(
        request=MortgageDisburseSerializer, responses={201: MortgageDisburseResultSerializer}
    )
    @action(detail=True, methods=["post"])
    def disburse(self, request, pk=None):
        """Finance records the bank's disbursement (ledger entries and a receipt); the loan
        fully received, the mortgage is 已放款."""
        mortgage = self._mortgage()
        data = self._input(MortgageDisburseSerializer)
        receipt = m.mortgage_disburse(actor=request.user, mortgage=mortgage, **data)
        body = {
            "receipt": receipt.pk,
            "receipt_number": receipt.number,
            "amount": str(receipt.amount),
            "mortgage": MortgageDetailSerializer(
                self._fresh(mortgage), context=self.get_serializer_context()
            ).data,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("project", OpenApiTypes.INT, required=True, description="项目"),
            OpenApiParameter("month", OpenApiTypes.STR, description="月份 YYYY-MM（默认本月）"),
        ],
        responses=MortgageReconciliationSerializer,
        filters=False,
    )
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def reconciliation(self, request):
        """按揭对帐: per bank, the month's loan items due (expected) against the banks'
        disbursements received (received), for those who see the project's money."""
        project = project_param(request)
        if not m.may_reconcile(request.user, project):
            raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有查看按揭对帐的权限"))
        result = m.reconciliation(request.user, project, request.query_params.get("month", ""))
        body = {
            "project": project.pk,
            "month": result["month"],
            "rows": [
                {
                    k: str(v) if k in ("expected", "received", "difference") else v
                    for k, v in r.items()
                }
                for r in result["rows"]
            ],
            "totals": {k: str(v) for k, v in result["totals"].items()},
        }
        return Response(body)


def register(router) -> None:
    """Register this part's viewsets on the API router."""
    router.register("mortgages", MortgageViewSet, basename="mortgage")
