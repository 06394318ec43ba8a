"""Price-list API 价格方案 (issue Inventory): ``/api/v1/price-lists/``.

Lists and details start from the restricted queryset (``pricelist.view``; a forbidden
list is a 404); every write is a service call (generation, adjustments, overrides,
scaling and the transitions as POST actions); errors come in the one shape. Floor prices
(底价) are stripped by ``core.masking`` for callers without ``unit.view_floor_price``.
"""

from decimal import Decimal

from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.core.masking import FloorPriceSerializerMixin
from loupan.core.viewsets import ServiceModelViewSet
from loupan.inventory import price_rules, pricelists
from loupan.inventory.models import PriceList, PriceListItem, PricingBasis, Project

MONEY = {"max_digits": 14, "decimal_places": 2}


def _no_floats(value):
    """JSON numbers in a rule become Decimal through their text (never float arithmetic)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _no_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_floats(v) for v in value]
    return value


class PriceListSerializer(FloorPriceSerializerMixin, serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True)
    item_count = serializers.IntegerField(read_only=True, default=None)

    class Meta:
        model = PriceList
        fields = [
            "id",
            "project",
            "version",
            "name",
            "kind",
            "kind_display",
            "pricing_basis",
            "status",
            "status_display",
            "parameters",
            "scheduled_at",
            "required_approver",
            "max_change_pct",
            "created_by",
            "created_at",
            "submitted_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "applied_at",
            "note",
            "item_count",
        ]
        read_only_fields = fields


class DistributionGroupSerializer(serializers.Serializer):
    label = serializers.CharField()
    count = serializers.IntegerField()
    area = serializers.DecimalField(**MONEY, allow_null=True)
    sum_total = serializers.DecimalField(**MONEY)
    min_total = serializers.DecimalField(**MONEY, allow_null=True)
    max_total = serializers.DecimalField(**MONEY, allow_null=True)
    min_unit_price = serializers.DecimalField(**MONEY, allow_null=True)
    max_unit_price = serializers.DecimalField(**MONEY, allow_null=True)
    avg_unit_price = serializers.DecimalField(**MONEY, allow_null=True)
    avg_total = serializers.DecimalField(**MONEY, allow_null=True)


class DistributionSerializer(serializers.Serializer):
    overall = DistributionGroupSerializer()
    by_building = DistributionGroupSerializer(many=True)
    by_layout = DistributionGroupSerializer(many=True)


class PriceListDetailSerializer(PriceListSerializer):
    distribution = serializers.SerializerMethodField()

    class Meta(PriceListSerializer.Meta):
        fields = [*PriceListSerializer.Meta.fields, "distribution"]
        read_only_fields = fields

    @extend_schema(responses=DistributionSerializer)
    def get_distribution(self, obj) -> dict:
        return DistributionSerializer(pricelists.pricelist_distribution(obj)).data


class PriceListItemSerializer(FloorPriceSerializerMixin, serializers.ModelSerializer):
    unit_number = serializers.CharField(source="unit.number", read_only=True)
    building = serializers.CharField(source="unit.building.name", read_only=True)
    layout = serializers.CharField(source="unit.layout.name", default=None, read_only=True)
    floor = serializers.IntegerField(source="unit.floor", read_only=True)
    unit_status = serializers.CharField(source="unit.status", read_only=True)
    change_pct = serializers.SerializerMethodField()

    class Meta:
        model = PriceListItem
        fields = [
            "id",
            "unit",
            "unit_number",
            "building",
            "layout",
            "floor",
            "unit_status",
            "unit_price",
            "list_price",
            "floor_price",
            "old_list_price",
            "change_pct",
            "manual",
            "skipped",
            "skip_reason",
        ]
        read_only_fields = fields

    def get_change_pct(self, obj) -> Decimal | None:
        value = pricelists.item_change_pct(obj)
        return None if value is None else str(value)

    def floor_price_project(self, instance):
        return self.context.get("project_id") or instance.unit.project_id


# --- input shapes -------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.INT)
class _ProjectField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Project.objects.restrict(self.context["request"].user, "view")


class PriceListGenerateSerializer(serializers.Serializer):
    project = _ProjectField()
    name = serializers.CharField(max_length=100)
    pricing_basis = serializers.ChoiceField(PricingBasis.choices, required=False)
    rule = serializers.DictField(
        help_text="生成规则，见 inventory/price_rules.py（楼栋/户型基准价、楼层差、朝向与景观加价、取整）"
    )
    unit_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    building_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    target_average = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    note = serializers.CharField(required=False, allow_blank=True)


class PriceAdjustmentSerializer(serializers.Serializer):
    project = _ProjectField()
    name = serializers.CharField(max_length=100)
    unit_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    building_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    layout_ids = serializers.ListField(child=serializers.IntegerField(), required=False)
    floor_from = serializers.IntegerField(required=False, allow_null=True)
    floor_to = serializers.IntegerField(required=False, allow_null=True)
    mode = serializers.ChoiceField(
        [("percent", "按比例（%）"), ("amount", "按金额（元/㎡，按套计价为元/套）")]
    )
    value = serializers.DecimalField(max_digits=14, decimal_places=2)
    rounding_step = serializers.ChoiceField(["1", "10", "100"], default="1")
    rounding_on = serializers.ChoiceField(price_rules.ROUND_ON, default="total")
    note = serializers.CharField(required=False, allow_blank=True)


class OverrideSerializer(serializers.Serializer):
    unit = serializers.IntegerField()
    unit_price = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    total = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    clear = serializers.BooleanField(default=False)


class ScaleSerializer(serializers.Serializer):
    target_average = serializers.DecimalField(**MONEY)
    unit_ids = serializers.ListField(child=serializers.IntegerField(), required=False)


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class ApplySerializer(serializers.Serializer):
    scheduled_at = serializers.DateTimeField(required=False, allow_null=True)


class ApplyResultSerializer(serializers.Serializer):
    applied = serializers.IntegerField(required=False)
    skipped = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField()), required=False
    )
    scheduled_at = serializers.DateTimeField(required=False)
    price_list = PriceListSerializer()


class ScaleResultSerializer(serializers.Serializer):
    reached = serializers.DecimalField(**MONEY)
    units = serializers.IntegerField()
    scaled = serializers.IntegerField()
    price_list = PriceListSerializer()


# --- the viewset ------------------------------------------------------------------------


class PriceListViewSet(ServiceModelViewSet):
    """Price lists and adjustments 价格方案、调价 of the caller's projects.

    POST creates a draft from a rule; ``adjustments/`` creates an adjustment; the actions
    ``submit``, ``approve``, ``reject``, ``reopen``, ``apply`` (now, or at
    ``scheduled_at``), ``unschedule``, ``scale`` and ``override`` move or edit one list.
    """

    queryset = (
        PriceList.objects.select_related("project", "created_by", "decided_by")
        .annotate(item_count=Count("items"))
        .order_by("project_id", "-version")
    )
    serializer_class = PriceListSerializer
    filterset_fields = ["project", "status", "kind"]
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self):
        if self.action == "retrieve":
            return PriceListDetailSerializer
        if self.action == "create":
            return PriceListGenerateSerializer
        return PriceListSerializer

    def _detail(self, obj, code=status.HTTP_200_OK):
        obj = self.get_queryset().get(pk=obj.pk)
        return Response(
            PriceListDetailSerializer(obj, context=self.get_serializer_context()).data, status=code
        )

    def _input(self, serializer_class):
        serializer = serializer_class(
            data=_no_floats(self.request.data), context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    @extend_schema(request=PriceListGenerateSerializer, responses={201: PriceListDetailSerializer})
    def create(self, request, *args, **kwargs):
        data = self._input(PriceListGenerateSerializer)
        obj = pricelists.pricelist_generate(actor=request.user, **data)
        return self._detail(obj, status.HTTP_201_CREATED)

    @extend_schema(request=PriceAdjustmentSerializer, responses={201: PriceListDetailSerializer})
    @action(detail=False, methods=["post"], url_path="adjustments")
    def adjustments(self, request):
        data = self._input(PriceAdjustmentSerializer)
        filters = {
            k: data.pop(k, None) for k in ("building_ids", "layout_ids", "floor_from", "floor_to")
        }
        unit_ids = data.pop("unit_ids", None)
        if not unit_ids and any(v not in (None, [], "") for v in filters.values()):
            unit_ids = list(
                pricelists.units_matching(project=data["project"], **filters).values_list(
                    "pk", flat=True
                )
            )
        obj = pricelists.adjustment_create(actor=request.user, unit_ids=unit_ids or [], **data)
        return self._detail(obj, status.HTTP_201_CREATED)

    @extend_schema(responses=PriceListItemSerializer(many=True))
    @action(detail=True, methods=["get"])
    def items(self, request, pk=None):
        obj = self.get_object()
        qs = pricelists.pricelist_items(obj)
        page = self.paginate_queryset(qs)
        context = {**self.get_serializer_context(), "project_id": obj.project_id}
        serializer = PriceListItemSerializer(page, many=True, context=context)
        return self.get_paginated_response(serializer.data)

    @extend_schema(request=None, responses=PriceListDetailSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._detail(
            pricelists.pricelist_submit(actor=request.user, price_list=self.get_object())
        )

    @extend_schema(request=NoteSerializer, responses=PriceListDetailSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        obj = self.get_object()
        note = self._input(NoteSerializer)["note"]
        return self._detail(
            pricelists.pricelist_approve(actor=request.user, price_list=obj, note=note)
        )

    @extend_schema(request=NoteSerializer, responses=PriceListDetailSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        obj = self.get_object()
        note = self._input(NoteSerializer)["note"]
        return self._detail(
            pricelists.pricelist_reject(actor=request.user, price_list=obj, note=note)
        )

    @extend_schema(request=None, responses=PriceListDetailSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        return self._detail(
            pricelists.pricelist_reopen(actor=request.user, price_list=self.get_object())
        )

    @extend_schema(request=ApplySerializer, responses=ApplyResultSerializer)
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        obj = self.get_object()
        at = self._input(ApplySerializer).get("scheduled_at")
        result = pricelists.pricelist_apply(actor=request.user, price_list=obj, at=at)
        obj = self.get_queryset().get(pk=obj.pk)
        payload = {
            **result,
            "price_list": PriceListSerializer(obj, context=self.get_serializer_context()).data,
        }
        if "scheduled_at" in payload:
            payload["scheduled_at"] = serializers.DateTimeField().to_representation(
                payload["scheduled_at"]
            )
        return Response(payload)

    @extend_schema(request=None, responses=PriceListDetailSerializer)
    @action(detail=True, methods=["post"])
    def unschedule(self, request, pk=None):
        return self._detail(
            pricelists.pricelist_unschedule(actor=request.user, price_list=self.get_object())
        )

    @extend_schema(request=ScaleSerializer, responses=ScaleResultSerializer)
    @action(detail=True, methods=["post"])
    def scale(self, request, pk=None):
        obj = self.get_object()
        data = self._input(ScaleSerializer)
        result = pricelists.pricelist_scale_to_average(
            actor=request.user,
            price_list=obj,
            target=data["target_average"],
            unit_ids=data.get("unit_ids"),
        )
        obj = self.get_queryset().get(pk=obj.pk)
        return Response(
            {
                "reached": str(result["reached"]),
                "units": result["units"],
                "scaled": result["scaled"],
                "price_list": PriceListSerializer(obj, context=self.get_serializer_context()).data,
            }
        )

    @extend_schema(request=OverrideSerializer, responses=PriceListItemSerializer)
    @action(detail=True, methods=["post"])
    def override(self, request, pk=None):
        obj = self.get_object()
        data = self._input(OverrideSerializer)
        item = pricelists.pricelist_set_override(
            actor=request.user,
            price_list=obj,
            unit_id=data["unit"],
            unit_price=data.get("unit_price"),
            total=data.get("total"),
            clear=data["clear"],
        )
        item = get_object_or_404(pricelists.pricelist_items(obj), pk=item.pk)
        context = {**self.get_serializer_context(), "project_id": obj.project_id}
        return Response(PriceListItemSerializer(item, context=context).data)


def register(router):
    """Register the price-list viewsets on the API router."""
    router.register("price-lists", PriceListViewSet, basename="pricelist")
