"""The delivery 交房 and repairs 维修 API (issue 14), registered by loupan/api_urls.py.

* ``/delivery-batches/``: list, create (a delivery 已通知 for every contracted deal of the
  building), detail (with the bookings per day and slot).
* ``/deliveries/`` (filters ``project``, ``batch``, ``status``, ``appointment_on``, ``q``):
  list, detail with the flags computed as of now (a GET writes nothing); actions
  ``book``, ``inspect`` (defects as JSON, or multipart with ``defects`` as a JSON text and
  the photos as ``photo_<index>``) and ``handover``.
* ``/repairs/`` (filters ``project``, ``status``, ``team``, ``source``, ``overdue``, ``q``):
  list, create, detail; actions ``assign``, ``done``, ``visit``.

Every write goes through ``aftersales.delivery``; refusals have the one error shape; a
JSON float is refused (``NoFloatsMixin``)."""

import json

import django_filters
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.core.api import named_choices, project_by_id
from loupan.core.errors import DomainError, ErrorCode, invalid
from loupan.core.viewsets import RestrictedViewSet
from loupan.payments.api.serializers import NoFloatsMixin

from .. import delivery as s
from ..models import (
    Defect,
    Delivery,
    DeliveryBatch,
    DeliveryStatus,
    Department,
    RepairOrder,
    RepairSource,
    RepairStatus,
)

urlpatterns: list = []


_choices = named_choices


DeliveryStatusField = _choices("DeliveryStatus", DeliveryStatus.choices)
RepairStatusField = _choices("RepairStatus", RepairStatus.choices)
RepairSourceField = _choices("RepairSource", RepairSource.choices)
RepairTeamField = _choices("RepairTeam", Department.choices)
NEW_SOURCES = [c for c in RepairSource.choices if c[0] != RepairSource.INSPECTION]
RepairNewSourceField = _choices("RepairNewSource", NEW_SOURCES)


def _project(request, raw):
    return project_by_id(request.user, raw)


# --- output ------------------------------------------------------------------------------------


class DeliveryFlagSerializer(serializers.Serializer):
    """A flag on the handover: money owed, an unsettled area difference, or the override
    that let it through (with its reason)."""

    code = serializers.CharField(help_text="money_owed / area_settlement / override")
    label = serializers.CharField()
    amount = serializers.CharField(required=False)
    detail = serializers.CharField(required=False)
    reason = serializers.CharField(required=False)
    by = serializers.CharField(required=False)
    at = serializers.CharField(required=False)


class DeliverySlotCountSerializer(serializers.Serializer):
    day = serializers.DateField()
    slot = serializers.CharField()
    booked = serializers.IntegerField()


class DeliveryBatchSerializer(serializers.ModelSerializer):
    """A delivery batch 交房批次."""

    building_name = serializers.CharField(source="building.name", read_only=True)
    slots = serializers.ListField(child=serializers.CharField(), read_only=True)
    requirements = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = DeliveryBatch
        fields = [
            "id",
            "project",
            "building",
            "building_name",
            "name",
            "starts_on",
            "ends_on",
            "slots",
            "slot_capacity",
            "requirements",
            "notice",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class DeliveryBatchDetailSerializer(DeliveryBatchSerializer):
    bookings = serializers.SerializerMethodField(label=gettext_lazy("预约情况"))

    class Meta(DeliveryBatchSerializer.Meta):
        fields = [*DeliveryBatchSerializer.Meta.fields, "bookings"]
        read_only_fields = fields

    @extend_schema_field(DeliverySlotCountSerializer(many=True))
    def get_bookings(self, obj):
        return [
            {"day": day, "slot": slot, "booked": n}
            for (day, slot), n in sorted(s.slot_counts(obj).items())
        ]


class DeliveryDefectSerializer(serializers.ModelSerializer):
    repair = serializers.IntegerField(source="repair.pk", read_only=True, allow_null=True)
    repair_number = serializers.CharField(source="repair.number", read_only=True)
    has_photo = serializers.SerializerMethodField()

    class Meta:
        model = Defect
        fields = ["id", "room", "item", "description", "has_photo", "repair", "repair_number"]
        read_only_fields = fields

    def get_has_photo(self, obj) -> bool:
        return bool(obj.photo)


class DeliverySerializer(serializers.ModelSerializer):
    """A unit's delivery 交房."""

    unit_number = serializers.CharField(source="unit.number", read_only=True)
    customer = serializers.CharField(source="deal.customer.name", read_only=True)
    contract_number = serializers.CharField(source="deal.contract_number", read_only=True)
    status = DeliveryStatusField(choices=DeliveryStatus.choices, read_only=True)
    flags = DeliveryFlagSerializer(
        many=True, read_only=True, help_text=gettext_lazy("交付时记录的提示")
    )

    class Meta:
        model = Delivery
        fields = [
            "id",
            "project",
            "batch",
            "deal",
            "unit",
            "unit_number",
            "customer",
            "contract_number",
            "status",
            "notified_at",
            "appointment_on",
            "slot",
            "inspected_at",
            "inspection_note",
            "quality_guarantee_given",
            "user_manual_given",
            "keys_given",
            "delivered_at",
            "delivered_by",
            "flags",
        ]
        read_only_fields = fields


class DeliveryDetailSerializer(DeliverySerializer):
    """A delivery with its flags as of now, its defects and what the caller may do."""

    current_flags = serializers.SerializerMethodField(label=gettext_lazy("当前提示"))
    defects = DeliveryDefectSerializer(many=True, read_only=True)
    can = serializers.SerializerMethodField()

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "current_flags", "defects", "can"]
        read_only_fields = fields

    @extend_schema_field(DeliveryFlagSerializer(many=True))
    def get_current_flags(self, obj):
        return obj.flags if obj.status == DeliveryStatus.DELIVERED else s.flags_of(obj)

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "book": {"type": "boolean"},
                "inspect": {"type": "boolean"},
                "handover": {"type": "boolean"},
            },
        }
    )
    def get_can(self, obj):
        request = self.context.get("request")
        return s.delivery_abilities(request.user, obj) if request else {}


class RepairSerializer(serializers.ModelSerializer):
    """A repair order 维修单."""

    unit_number = serializers.CharField(source="unit.number", read_only=True)
    status = RepairStatusField(choices=RepairStatus.choices, read_only=True)
    source = RepairSourceField(choices=RepairSource.choices, read_only=True)
    team = RepairTeamField(choices=Department.choices, read_only=True)
    overdue = serializers.SerializerMethodField(label=gettext_lazy("已逾期"))

    class Meta:
        model = RepairOrder
        fields = [
            "id",
            "project",
            "number",
            "deal",
            "unit",
            "unit_number",
            "source",
            "defect",
            "complaint",
            "description",
            "team",
            "assigned_to",
            "due_on",
            "overdue",
            "status",
            "done_at",
            "done_note",
            "visited_at",
            "visit_note",
            "satisfaction",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_overdue(self, obj) -> bool:
        return s.is_overdue(obj, self.context.get("today"))


class RepairDetailSerializer(RepairSerializer):
    can = serializers.SerializerMethodField()

    class Meta(RepairSerializer.Meta):
        fields = [*RepairSerializer.Meta.fields, "can"]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "assign": {"type": "boolean"},
                "done": {"type": "boolean"},
                "visit": {"type": "boolean"},
            },
        }
    )
    def get_can(self, obj):
        request = self.context.get("request")
        return s.repair_abilities(request.user, obj) if request else {}


# --- input -------------------------------------------------------------------------------------


class DeliveryBatchCreateSerializer(NoFloatsMixin, serializers.Serializer):
    project = serializers.IntegerField(label=gettext_lazy("项目"))
    building = serializers.IntegerField(label=gettext_lazy("楼栋"))
    name = serializers.CharField(label=gettext_lazy("批次名称"), max_length=50)
    starts_on = serializers.DateField(label=gettext_lazy("开始日期"))
    ends_on = serializers.DateField(label=gettext_lazy("结束日期"))
    slots = serializers.ListField(
        child=serializers.CharField(max_length=20), label=gettext_lazy("时段")
    )
    slot_capacity = serializers.IntegerField(label=gettext_lazy("每时段户数"))
    requirements = serializers.ListField(
        child=serializers.CharField(max_length=100),
        label=gettext_lazy("业主须携带"),
        required=False,
        default=list,
    )
    notice = serializers.CharField(
        label=gettext_lazy("通知说明"), required=False, allow_blank=True, default=""
    )


class DeliveryBookSerializer(NoFloatsMixin, serializers.Serializer):
    day = serializers.DateField(label=gettext_lazy("预约日期"))
    slot = serializers.CharField(label=gettext_lazy("时段"), max_length=20)


class DeliveryDefectInputSerializer(serializers.Serializer):
    room = serializers.CharField(label=gettext_lazy("房间部位"), allow_blank=True, default="")
    item = serializers.CharField(label=gettext_lazy("项目"), allow_blank=True, default="")
    description = serializers.CharField(
        label=gettext_lazy("问题描述"), allow_blank=True, default=""
    )


class DeliveryInspectSerializer(NoFloatsMixin, serializers.Serializer):
    """The inspection: the opinion and the defects (each becomes a repair order). In a
    multipart request ``defects`` is a JSON text and the photos are ``photo_0``,
    ``photo_1`` … by the defect's index."""

    note = serializers.CharField(
        label=gettext_lazy("验房意见"), required=False, allow_blank=True, default=""
    )
    defects = DeliveryDefectInputSerializer(many=True, required=False, default=list)


class DeliveryHandoverSerializer(NoFloatsMixin, serializers.Serializer):
    quality_guarantee = serializers.BooleanField(label=gettext_lazy("住宅质量保证书已交"))
    user_manual = serializers.BooleanField(label=gettext_lazy("住宅使用说明书已交"))
    keys = serializers.IntegerField(label=gettext_lazy("交付钥匙（把）"))
    override_reason = serializers.CharField(
        label=gettext_lazy("放行原因"),
        required=False,
        allow_blank=True,
        default="",
        help_text=gettext_lazy("有欠款或面积补差未结清时必填"),
    )


class RepairCreateSerializer(NoFloatsMixin, serializers.Serializer):
    project = serializers.IntegerField(label=gettext_lazy("项目"))
    unit = serializers.IntegerField(label=gettext_lazy("房间"), required=False, allow_null=True)
    deal = serializers.IntegerField(label=gettext_lazy("交易"), required=False, allow_null=True)
    description = serializers.CharField(label=gettext_lazy("维修内容"), max_length=300)
    source = RepairNewSourceField(
        choices=NEW_SOURCES, label=gettext_lazy("来源"), default=RepairSource.OWNER
    )
    complaint = serializers.IntegerField(
        label=gettext_lazy("投诉"), required=False, allow_null=True
    )
    team = RepairTeamField(
        choices=Department.choices, label=gettext_lazy("责任单位"), default=Department.REPAIR
    )
    due_on = serializers.DateField(
        label=gettext_lazy("要求完成日期"), required=False, allow_null=True, default=None
    )


class RepairAssignSerializer(NoFloatsMixin, serializers.Serializer):
    assigned_to = serializers.IntegerField(label=gettext_lazy("维修负责人"))
    team = RepairTeamField(
        choices=Department.choices, label=gettext_lazy("责任单位"), required=False
    )
    due_on = serializers.DateField(
        label=gettext_lazy("要求完成日期"), required=False, allow_null=True, default=None
    )


class RepairDoneSerializer(NoFloatsMixin, serializers.Serializer):
    note = serializers.CharField(label=gettext_lazy("完工说明"), max_length=300)


class RepairVisitSerializer(NoFloatsMixin, serializers.Serializer):
    note = serializers.CharField(label=gettext_lazy("回访记录"), max_length=300)
    satisfaction = serializers.IntegerField(label=gettext_lazy("满意度"), help_text="1–5")


# --- filters -----------------------------------------------------------------------------------


class DeliveryApiFilterSet(s.DeliveryFilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")
    batch = django_filters.NumberFilter(label=gettext_lazy("交房批次"), field_name="batch_id")

    class Meta(s.DeliveryFilterSet.Meta):
        fields = [*s.DeliveryFilterSet.Meta.fields, "project", "batch"]


class RepairApiFilterSet(s.RepairFilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")

    class Meta(s.RepairFilterSet.Meta):
        fields = [*s.RepairFilterSet.Meta.fields, "project"]


class BatchApiFilterSet(django_filters.FilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")

    class Meta:
        model = DeliveryBatch
        fields = ["project"]


# --- viewsets ----------------------------------------------------------------------------------


def _input(request, serializer_class, data=None):
    serializer = serializer_class(data=request.data if data is None else data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class DeliveryBatchViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Delivery batches 交房批次 the caller may see (``aftersales.view``; a consultant:
    those holding their own buyers')."""

    queryset = DeliveryBatch.objects.select_related("building").order_by("-starts_on", "pk")
    serializer_class = DeliveryBatchSerializer
    filterset_class = BatchApiFilterSet
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        return (
            s.batches_visible(self.request.user)
            .select_related("building")
            .order_by("-starts_on", "pk")
        )

    def get_serializer_class(self):
        return DeliveryBatchSerializer if self.action == "list" else DeliveryBatchDetailSerializer

    @extend_schema(
        request=DeliveryBatchCreateSerializer, responses={201: DeliveryBatchDetailSerializer}
    )
    def create(self, request, *args, **kwargs):
        """A batch of a building; every contracted deal of it gets its delivery 已通知."""
        data = dict(_input(request, DeliveryBatchCreateSerializer))
        project = _project(request, data.pop("project"))
        batch = s.batch_create(actor=request.user, project=project, **data)
        batch = self.get_queryset().get(pk=batch.pk)
        return Response(
            DeliveryBatchDetailSerializer(batch, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )


class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Deliveries 交房 the caller may see (a consultant: their own buyers', read-only)."""

    queryset = Delivery.objects.select_related(
        "unit", "deal__customer", "project", "batch"
    ).order_by("batch_id", "unit__number", "pk")
    serializer_class = DeliverySerializer
    filterset_class = DeliveryApiFilterSet
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self):
        return DeliverySerializer if self.action == "list" else DeliveryDetailSerializer

    def _delivery(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def _answer(self, delivery):
        delivery = self.get_queryset().prefetch_related("defects__repair").get(pk=delivery.pk)
        return Response(
            DeliveryDetailSerializer(delivery, context=self.get_serializer_context()).data
        )

    def retrieve(self, request, *args, **kwargs):
        delivery = get_object_or_404(
            self.get_queryset().prefetch_related("defects__repair"), pk=kwargs["pk"]
        )
        return Response(
            DeliveryDetailSerializer(delivery, context=self.get_serializer_context()).data
        )

    @extend_schema(request=DeliveryBookSerializer, responses=DeliveryDetailSerializer)
    @action(detail=True, methods=["post"])
    def book(self, request, pk=None):
        """预约: a working day of the batch and one of its slots (SLOT_FULL when full)."""
        delivery = self._delivery()
        data = _input(request, DeliveryBookSerializer)
        return self._answer(s.delivery_book(actor=request.user, delivery=delivery, **data))

    @extend_schema(request=DeliveryInspectSerializer, responses=DeliveryDetailSerializer)
    @action(detail=True, methods=["post"])
    def inspect(self, request, pk=None):
        """验房: each defect becomes a repair order due in 7 working days."""
        delivery = self._delivery()
        body = request.data
        photos = {}
        if hasattr(request.data, "getlist") and request.FILES is not None:
            raw = request.data.get("defects", "")
            try:
                defects = json.loads(raw) if isinstance(raw, str) and raw else []
            except ValueError as exc:
                raise invalid("defects", _("验房问题须是 JSON 列表")) from exc
            body = {"note": request.data.get("note", ""), "defects": defects}
            photos = {k: v for k, v in request.FILES.items() if k.startswith("photo_")}
        data = _input(request, DeliveryInspectSerializer, body)
        defects = []
        for index, row in enumerate(data["defects"]):
            photo = photos.get(f"photo_{index}")
            defects.append({**row, "photo": photo})
        extra = set(photos) - {f"photo_{i}" for i in range(len(defects))}
        if extra:
            raise invalid(
                "defects", _("照片 %(p)s 没有对应的问题") % {"p": "、".join(sorted(extra))}
            )
        delivery = s.delivery_inspect(
            actor=request.user, delivery=delivery, note=data["note"], defects=defects
        )
        return self._answer(delivery)

    @extend_schema(request=DeliveryHandoverSerializer, responses=DeliveryDetailSerializer)
    @action(detail=True, methods=["post"])
    def handover(self, request, pk=None):
        """交付: the 两书 and the keys; refused (``money_outstanding``) while money is owed or
        an area difference is unsettled, unless ``override_reason`` is given."""
        delivery = self._delivery()
        data = _input(request, DeliveryHandoverSerializer)
        return self._answer(s.delivery_handover(actor=request.user, delivery=delivery, **data))


class RepairViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """Repair orders 维修单 the caller may see."""

    queryset = RepairOrder.objects.select_related("unit", "project").order_by("-created_at", "-pk")
    serializer_class = RepairSerializer
    filterset_class = RepairApiFilterSet
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self):
        return RepairSerializer if self.action == "list" else RepairDetailSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "today": timezone.localdate()}

    def _repair(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def _answer(self, repair, code=status.HTTP_200_OK):
        repair = self.get_queryset().get(pk=repair.pk)
        return Response(
            RepairDetailSerializer(repair, context=self.get_serializer_context()).data, status=code
        )

    @extend_schema(request=RepairCreateSerializer, responses={201: RepairDetailSerializer})
    def create(self, request, *args, **kwargs):
        """登记维修 (业主报修 or from a complaint); due in 7 working days unless given."""
        data = dict(_input(request, RepairCreateSerializer))
        project = _project(request, data.pop("project"))
        repair = s.repair_create(actor=request.user, project=project, **data)
        if not self.get_queryset().filter(pk=repair.pk).exists():
            raise DomainError(ErrorCode.NOT_FOUND)
        return self._answer(repair, status.HTTP_201_CREATED)

    @extend_schema(request=RepairAssignSerializer, responses=RepairDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """派工 (or 改派)."""
        repair = self._repair()
        data = _input(request, RepairAssignSerializer)
        return self._answer(s.repair_assign(actor=request.user, repair=repair, **data))

    @extend_schema(request=RepairDoneSerializer, responses=RepairDetailSerializer)
    @action(detail=True, methods=["post"])
    def done(self, request, pk=None):
        """完工."""
        repair = self._repair()
        data = _input(request, RepairDoneSerializer)
        return self._answer(s.repair_done(actor=request.user, repair=repair, **data))

    @extend_schema(request=RepairVisitSerializer, responses=RepairDetailSerializer)
    @action(detail=True, methods=["post"])
    def visit(self, request, pk=None):
        """回访 with the owner's satisfaction (1–5): the order is closed."""
        repair = self._repair()
        data = _input(request, RepairVisitSerializer)
        return self._answer(s.repair_visit(actor=request.user, repair=repair, **data))


def register(router) -> None:
    """Register this part's viewsets on the API router."""
    router.register("delivery-batches", DeliveryBatchViewSet, basename="deliverybatch")
    router.register("deliveries", DeliveryViewSet, basename="delivery")
    router.register("repairs", RepairViewSet, basename="repair")
