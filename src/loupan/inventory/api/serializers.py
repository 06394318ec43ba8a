"""The inventory API's shapes: output serializers read, input serializers check the shape
of a request; every rule lives in the services (``inventory.services``,
``inventory.pricelists``) and floor prices leave only through
``core.masking.FloorPriceSerializerMixin``."""

from decimal import Decimal

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers

from loupan.core.masking import FloorPriceSerializerMixin
from loupan.inventory import price_rules, pricelists
from loupan.inventory.models import (
    Building,
    Company,
    Layout,
    Phase,
    PresalePermit,
    PriceList,
    PriceListItem,
    PricingBasis,
    Project,
    ReleasePlan,
    Unit,
)
from loupan.inventory.services import (
    BUILDING_FIELDS,
    COMPANY_FIELDS,
    LAYOUT_FIELDS,
    PERMIT_FIELDS,
    PHASE_FIELDS,
    PROJECT_FIELDS,
    UNIT_FIELDS,
)


class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", *COMPANY_FIELDS]


class PresalePermitSerializer(serializers.ModelSerializer):
    class Meta:
        model = PresalePermit
        fields = ["id", "project", *PERMIT_FIELDS]
        read_only_fields = ["project"]
        validators = []  # uniqueness is checked by the service (one error shape)


class ProjectSerializer(serializers.ModelSerializer):
    permits = PresalePermitSerializer(many=True, read_only=True)
    company_name = serializers.CharField(source="company.name", read_only=True)

    class Meta:
        model = Project
        fields = ["id", *PROJECT_FIELDS, "company_name", "permits", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]
        validators = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "company" in self.fields:
            from loupan.inventory.models import Company as C

            self.fields["company"].queryset = C.objects.restrict(request.user, "view")
        for name in ("code", "name"):
            if name in self.fields:
                self.fields[name].validators = [
                    v
                    for v in self.fields[name].validators
                    if v.__class__.__name__ != "UniqueValidator"
                ]


# --- units, buildings, layouts, phases, release plans (api/units.py) -----------------


class ProjectScopedSerializer(serializers.ModelSerializer):
    """Related choices limited to the caller's projects; ``project`` writable on create."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is None:
            return
        for field in self.fields.values():
            model = getattr(getattr(field, "queryset", None), "model", None)
            if model is not None and hasattr(model.objects, "restrict"):
                field.queryset = model.objects.restrict(request.user, "view")


class PhaseSerializer(ProjectScopedSerializer):
    class Meta:
        model = Phase
        fields = ["id", "project", *PHASE_FIELDS]
        validators = []


class LayoutSerializer(ProjectScopedSerializer):
    class Meta:
        model = Layout
        fields = ["id", "project", *[f for f in LAYOUT_FIELDS if f != "plan"], "shape"]
        read_only_fields = ["shape"]
        validators = []


class BuildingSerializer(ProjectScopedSerializer):
    class Meta:
        model = Building
        fields = ["id", "project", *BUILDING_FIELDS]
        validators = []


class UnitSerializer(FloorPriceSerializerMixin, ProjectScopedSerializer):
    """A unit; ``floor_price`` shown and accepted only for callers holding
    ``unit.view_floor_price`` on the unit's project (on create: the project sent)."""

    status_display = serializers.CharField(source="get_status_display", read_only=True)
    layout_name = serializers.CharField(source="layout.name", read_only=True, default=None)

    class Meta:
        model = Unit
        fields = [
            "id",
            "project",
            *UNIT_FIELDS,
            "status",
            "status_display",
            "layout_name",
            "hold_reason",
            "hold_until",
            "version",
            "updated_at",
        ]
        read_only_fields = ["status", "hold_reason", "hold_until", "version", "updated_at"]
        extra_kwargs = {"number": {"required": False, "allow_blank": True}}
        validators = []


class PositionSerializer(serializers.Serializer):
    layout = serializers.PrimaryKeyRelatedField(
        queryset=Layout.objects.all(), required=False, allow_null=True
    )
    gross_area = serializers.DecimalField(max_digits=10, decimal_places=2)
    internal_area = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, allow_null=True
    )
    shared_area = serializers.DecimalField(
        max_digits=10, decimal_places=2, required=False, allow_null=True
    )
    orientation = serializers.CharField(required=False, allow_blank=True)
    use = serializers.CharField(required=False)
    fit_out = serializers.CharField(required=False)
    unit_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    list_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )
    floor_price = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, allow_null=True
    )


class GenerateSerializer(serializers.Serializer):
    positions = PositionSerializer(many=True)
    floors = serializers.ListField(child=serializers.IntegerField(), required=False)
    stairs = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False)


class UnitIdsSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    units = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="")
    until = serializers.DateTimeField(required=False, allow_null=True, default=None)


class BulkSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    units = serializers.ListField(child=serializers.IntegerField(), allow_empty=False)
    data = serializers.DictField()


class ReleasePlanSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReleasePlan
        fields = [
            "id",
            "project",
            "name",
            "release_at",
            "units",
            "created_at",
            "executed_at",
            "result",
        ]
        read_only_fields = ["created_at", "executed_at", "result"]


# --- price lists (api/pricelists.py) --------------------------------------------------


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
