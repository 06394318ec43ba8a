"""Price-list API 价格方案 (issue Inventory): ``/api/v1/price-lists/``.

Lists and details start from the restricted queryset (``pricelist.view``; a forbidden
list is a 404); every write is a service call (generation, adjustments, overrides,
scaling and the transitions as POST actions); errors come in the one shape. Floor prices
(底价) are stripped by ``core.masking`` for callers without ``unit.view_floor_price``.
"""

from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.core.viewsets import ServiceModelViewSet
from loupan.inventory import pricelists
from loupan.inventory.models import PriceList

from .serializers import (
    ApplyResultSerializer,
    ApplySerializer,
    NoteSerializer,
    OverrideSerializer,
    PriceAdjustmentSerializer,
    PriceListDetailSerializer,
    PriceListGenerateSerializer,
    PriceListItemSerializer,
    PriceListSerializer,
    ScaleResultSerializer,
    ScaleSerializer,
    _no_floats,
)


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
