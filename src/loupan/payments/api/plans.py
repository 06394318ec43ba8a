"""The plans API (registered by loupan/api_urls.py), issue 13:

* ``GET / PUT /api/v1/payment-settings/<project_id>/``: a project's payment settings
  收款设置, read by ``payment.view`` or ``payment.configure``, written by
  ``payment.configure`` (PUT takes any subset of the fields); a project the caller does
  not see (or whose money they do not see) is a 404.
* ``/api/v1/fee-rates/``: the fee tables 税费标准 (``?project=``, ``?kind=``, ``?home=``):
  list and retrieve for ``payment.view``; create, update and delete for
  ``payment.configure`` (the services check; overlapping bands are refused).
* ``POST /api/v1/purchase-plans/``: one purchase plan 置业计划, computed and not saved
  (as the calculator), for whoever may see the unit (``unit.view``). Money and rates as
  strings; a JSON float is refused.
"""

from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from loupan.accounts import access
from loupan.core.errors import invalid
from loupan.core.viewsets import ServiceModelViewSet
from loupan.inventory.models import Project, Unit
from loupan.payments import plans
from loupan.payments.models import FeeRate, HomeOrder, PaymentSettings
from loupan.payments.schedule import settings_of

from .serializers import MONEY, NoFloatsMixin

SEE_SETTINGS = ("payment.view", "payment.configure")


# --- settings -----------------------------------------------------------------------------


class PaymentSettingsSerializer(NoFloatsMixin, serializers.ModelSerializer):
    project = serializers.IntegerField(source="project_id", read_only=True)

    class Meta:
        model = PaymentSettings
        fields = ["project", *plans.SETTINGS_LABELS]
        extra_kwargs = {
            name: {"required": False, "validators": []} for name in plans.SETTINGS_LABELS
        }


class PaymentSettingsView(APIView):
    """收款设置 of a project: minimum down payment (first / second home), due days, late
    fee (daily % of the overdue amount; 0 = off)."""

    parser_classes = [JSONParser]

    def _project(self, request, project_id):
        project = get_object_or_404(Project.objects.restrict(request.user, "view"), pk=project_id)
        if not any(access.has_perm(request.user, code, project) for code in SEE_SETTINGS):
            get_object_or_404(Project.objects.none(), pk=project_id)
        return project

    @extend_schema(operation_id="payment_settings_retrieve", responses=PaymentSettingsSerializer)
    def get(self, request, project_id):
        project = self._project(request, project_id)
        return Response(PaymentSettingsSerializer(settings_of(project)).data)

    @extend_schema(
        operation_id="payment_settings_update",
        request=PaymentSettingsSerializer,
        responses=PaymentSettingsSerializer,
    )
    def put(self, request, project_id):
        project = self._project(request, project_id)
        access.require_perm(request.user, "payment.configure", project)
        serializer = PaymentSettingsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = plans.payment_settings_save(
            actor=request.user, project=project, **serializer.validated_data
        )
        return Response(PaymentSettingsSerializer(row).data)


# --- fee tables ---------------------------------------------------------------------------


class FeeRateSerializer(NoFloatsMixin, serializers.ModelSerializer):
    """A row of the fee table: above ``area_min`` up to and including ``area_max`` (null:
    no upper bound) of gross area; ``rate`` in % of the price or yuan per ㎡."""

    project = serializers.PrimaryKeyRelatedField(queryset=Project.objects.all())

    class Meta:
        model = FeeRate
        fields = ["id", "project", "kind", "home", "area_min", "area_max", "basis", "rate"]
        extra_kwargs = {"area_min": {"required": False}}

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            fields["project"].queryset = Project.objects.restrict(request.user, "view")
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            fields["project"].read_only = True
        return fields


class FeeRateViewSet(ServiceModelViewSet):
    """The fee tables 税费标准 of the purchase plan: deed tax 契税 and maintenance fund
    维修资金 per home (first, second, any) and area band."""

    queryset = FeeRate.objects.select_related("project")
    serializer_class = FeeRateSerializer
    filterset_fields = ["project", "kind", "home"]
    parser_classes = [JSONParser]
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return super().get_queryset().order_by("project_id", "kind", "home", "area_min", "pk")

    def service_create(self, data):
        project = data.pop("project")
        return plans.fee_rate_save(actor=self.request.user, project=project, data=data)

    def service_update(self, obj, data):
        merged = {
            name: data.get(name, getattr(obj, name))
            for name in ("kind", "home", "area_min", "area_max", "basis", "rate")
        }
        return plans.fee_rate_save(
            actor=self.request.user, project=obj.project, data=merged, fee_rate=obj
        )

    def service_delete(self, obj):
        plans.fee_rate_delete(actor=self.request.user, fee_rate=obj)


# --- the purchase plan --------------------------------------------------------------------


class PurchasePlanSerializer(NoFloatsMixin, serializers.Serializer):
    """One plan to compute: the unit, discounts (ids of the project's fixed discount
    types), payment method, first or second home, the down payment (yuan, or % of the
    price), term and rates (% a year), and for 组合贷款 the provident-fund part."""

    unit = serializers.IntegerField(label=_("房间"))
    discounts = serializers.ListField(
        child=serializers.IntegerField(), required=False, default=list, label=_("折扣")
    )
    method = serializers.ChoiceField(
        choices=[(m.value, m.label) for m in plans.PLAN_METHODS], label=_("付款方式")
    )
    home = serializers.ChoiceField(
        choices=[(h.value, h.label) for h in (HomeOrder.FIRST, HomeOrder.SECOND)],
        default=HomeOrder.FIRST,
        label=_("购房套数"),
    )
    down_payment_pct = serializers.DecimalField(
        max_digits=5, decimal_places=2, required=False, allow_null=True, label=_("首付比例")
    )
    down_payment = serializers.DecimalField(
        **MONEY, required=False, allow_null=True, label=_("首付款")
    )
    years = serializers.IntegerField(required=False, default=30, label=_("贷款年限"))
    commercial_rate = serializers.DecimalField(
        max_digits=7, decimal_places=4, required=False, allow_null=True, label=_("商贷年利率")
    )
    provident_rate = serializers.DecimalField(
        max_digits=7, decimal_places=4, required=False, allow_null=True, label=_("公积金年利率")
    )
    provident_amount = serializers.DecimalField(
        **MONEY, required=False, allow_null=True, label=_("公积金贷款金额")
    )


class RepaymentSummarySerializer(serializers.Serializer):
    monthly_payment = serializers.DecimalField(**MONEY, help_text=_("首月月供"))
    last_payment = serializers.DecimalField(**MONEY, help_text=_("末月月供"))
    total_payment = serializers.DecimalField(**MONEY)
    total_interest = serializers.DecimalField(**MONEY)


class DiscountStepSerializer(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    value = serializers.DecimalField(max_digits=14, decimal_places=2)
    amount = serializers.DecimalField(**MONEY)
    total_after = serializers.DecimalField(**MONEY)


class FeeLineSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    is_set = serializers.BooleanField(help_text=_("false：未设置（amount 为 null）"))
    basis = serializers.CharField(source="row.basis", default=None)
    rate = serializers.DecimalField(
        max_digits=10, decimal_places=4, source="row.rate", default=None
    )
    amount = serializers.DecimalField(**MONEY, allow_null=True)


class PurchasePlanResultSerializer(serializers.Serializer):
    project = serializers.IntegerField(source="project.pk")
    unit = serializers.IntegerField(source="unit.pk")
    unit_number = serializers.CharField(source="unit.number")
    gross_area = serializers.DecimalField(max_digits=10, decimal_places=2, source="area")
    home = serializers.CharField()
    method = serializers.CharField()
    list_price = serializers.DecimalField(**MONEY)
    discounts = DiscountStepSerializer(many=True, source="quote.steps")
    discount_amount = serializers.DecimalField(**MONEY)
    price = serializers.DecimalField(**MONEY)
    price_upper = serializers.CharField(help_text=_("成交总价大写"))
    min_down_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    min_down_payment = serializers.DecimalField(**MONEY)
    down_payment = serializers.DecimalField(**MONEY)
    loan = serializers.DecimalField(**MONEY)
    commercial_loan = serializers.DecimalField(**MONEY)
    provident_loan = serializers.DecimalField(**MONEY)
    years = serializers.IntegerField(allow_null=True)
    equal_installment = RepaymentSummarySerializer(allow_null=True)
    equal_principal = RepaymentSummarySerializer(allow_null=True)
    deed_tax = FeeLineSerializer()
    maintenance = FeeLineSerializer()
    cash_needed = serializers.DecimalField(
        **MONEY, help_text=_("首付款＋契税＋维修资金（未设置的税费不计）")
    )
    fees_incomplete = serializers.BooleanField()


class PurchasePlanView(APIView):
    """置业计划: the price with the chosen discounts (as a subscription gives it), the
    down payment (at least the project's minimum), the loan, the monthly payment by
    equal instalments and by equal principal (first month), the estimated deed tax and
    maintenance fund, and the cash needed at signing. Computes; saves nothing."""

    parser_classes = [JSONParser]

    @extend_schema(
        operation_id="purchase_plans_compute",
        request=PurchasePlanSerializer,
        responses={200: PurchasePlanResultSerializer},
    )
    def post(self, request):
        serializer = PurchasePlanSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        unit = get_object_or_404(
            Unit.objects.restrict(request.user, "view").select_related("project", "layout"),
            pk=data.pop("unit"),
        )
        if not plans.plan_units(request.user, unit.project).filter(pk=unit.pk).exists():
            raise invalid("unit", _("该房间已售出、未推出或未定价，不能制作置业计划"))
        plan = plans.purchase_plan(project=unit.project, unit=unit, **data)
        return Response(PurchasePlanResultSerializer(plan).data)


urlpatterns = [
    path(
        "payment-settings/<int:project_id>/",
        PaymentSettingsView.as_view(),
        name="payment-settings",
    ),
    path("purchase-plans/", PurchasePlanView.as_view(), name="purchase-plans"),
]


def register(router) -> None:
    """Register this part's viewsets on the API router."""
    router.register("fee-rates", FeeRateViewSet, basename="feerate")
