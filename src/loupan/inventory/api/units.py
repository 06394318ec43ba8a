"""API for phases, layouts, buildings, units, holds, release plans and the board."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.accounts import access
from loupan.core.api import project_filtered
from loupan.core.errors import PermissionDenied
from loupan.core.masking import can_see_floor_price
from loupan.core.pages import project_for
from loupan.core.services import object_update
from loupan.core.viewsets import ReadOnlyRestrictedViewSet, ServiceModelViewSet
from loupan.inventory import board as board_mod
from loupan.inventory import services
from loupan.inventory.filters import UnitFilterSet
from loupan.inventory.models import Building, Layout, Phase, Project, ReleasePlan, Unit

from .serializers import (
    BuildingSerializer,
    BulkSerializer,
    GenerateSerializer,
    LayoutSerializer,
    PhaseSerializer,
    ReleasePlanSerializer,
    UnitIdsSerializer,
    UnitSerializer,
)


class _ProjectChildViewSet(ServiceModelViewSet):
    http_method_names = ["get", "post", "put", "patch", "head", "options"]
    filterset_fields = ["project"]

    def _project_from(self, data):
        project = data.pop("project", None)
        if project is None:
            raise serializers.ValidationError({"project": ["该字段是必填项。"]})
        return project


class PhaseViewSet(_ProjectChildViewSet):
    """Sales phases 分期."""

    queryset = Phase.objects.all()
    serializer_class = PhaseSerializer

    def service_create(self, data):
        return services.phase_create(
            actor=self.request.user, project=self._project_from(data), data=data
        )

    def service_update(self, obj, data):
        data.pop("project", None)

        return object_update(actor=self.request.user, obj=obj, data=data, perm="unit.change")


class LayoutViewSet(_ProjectChildViewSet):
    """The layout catalogue 户型."""

    queryset = Layout.objects.all()
    serializer_class = LayoutSerializer

    def service_create(self, data):
        return services.layout_create(
            actor=self.request.user, project=self._project_from(data), data=data
        )

    def service_update(self, obj, data):
        data.pop("project", None)
        return services.layout_update(actor=self.request.user, layout=obj, data=data)


class BuildingViewSet(_ProjectChildViewSet):
    """Buildings 楼栋; POST /buildings/{id}/generate/ creates their units from the shape."""

    queryset = Building.objects.all()
    serializer_class = BuildingSerializer

    def service_create(self, data):
        return services.building_create(
            actor=self.request.user, project=self._project_from(data), data=data
        )

    def service_update(self, obj, data):
        data.pop("project", None)
        return services.building_update(actor=self.request.user, building=obj, data=data)

    @extend_schema(
        request=GenerateSerializer,
        responses=inline_serializer("Generated", {"created": serializers.IntegerField()}),
    )
    @action(detail=True, methods=["post"])
    def generate(self, request, pk=None):
        building = self.get_object()
        serializer = GenerateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        positions = [
            {k: v for k, v in p.items() if v not in (None, "")}
            for p in serializer.validated_data["positions"]
        ]
        units = services.building_generate_units(
            actor=request.user,
            building=building,
            positions=positions,
            floors=serializer.validated_data.get("floors"),
            stairs=serializer.validated_data.get("stairs"),
        )
        return Response({"created": len(units)}, status=201)


class UnitViewSet(_ProjectChildViewSet):
    """Units 房间 with the board's filters; status moves through the hold/unhold/release
    actions (and, later, deals), never through PATCH."""

    queryset = Unit.objects.select_related("layout")
    serializer_class = UnitSerializer
    filterset_class = UnitFilterSet
    filterset_fields = None

    def get_queryset(self):
        return project_filtered(super().get_queryset(), self.request)

    def service_create(self, data):
        return services.unit_create(
            actor=self.request.user, project=self._project_from(data), data=data
        )

    def service_update(self, obj, data):
        data.pop("project", None)
        return services.unit_update(actor=self.request.user, unit=obj, data=data)

    def _ids(self, request):
        serializer = UnitIdsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        return project_for(request.user, data["project"]), data

    def _units(self, units):
        return Response(UnitSerializer(units, many=True, context={"request": self.request}).data)

    @extend_schema(request=UnitIdsSerializer, responses=UnitSerializer(many=True))
    @action(detail=False, methods=["post"])
    def hold(self, request):
        """销控保留: hold available units (reason required, optional ``until``)."""
        project, data = self._ids(request)
        return self._units(
            services.units_hold(
                actor=request.user,
                project=project,
                unit_ids=data["units"],
                reason=data["reason"],
                until=data["until"],
            )
        )

    @extend_schema(request=UnitIdsSerializer, responses=UnitSerializer(many=True))
    @action(detail=False, methods=["post"])
    def unhold(self, request):
        project, data = self._ids(request)
        return self._units(
            services.units_unhold(
                actor=request.user, project=project, unit_ids=data["units"], reason=data["reason"]
            )
        )

    @extend_schema(request=UnitIdsSerializer, responses=UnitSerializer(many=True))
    @action(detail=False, methods=["post"])
    def release(self, request):
        """推盘: not released → available."""
        project, data = self._ids(request)
        return self._units(
            services.units_release(
                actor=request.user, project=project, unit_ids=data["units"], reason=data["reason"]
            )
        )

    @extend_schema(
        request=BulkSerializer,
        responses=inline_serializer("BulkResult", {"updated": serializers.IntegerField()}),
    )
    @action(detail=False, methods=["post"])
    def bulk(self, request):
        """Set the same fields on many units (the fields of services.BULK_FIELDS)."""
        serializer = BulkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        project = project_for(request.user, serializer.validated_data["project"])
        data = dict(serializer.validated_data["data"])
        if "layout" in data and data["layout"] is not None:
            data["layout"] = get_object_or_404(
                Layout.objects.filter(project=project), pk=data["layout"]
            )
        n = services.units_bulk_update(
            actor=request.user,
            project=project,
            unit_ids=serializer.validated_data["units"],
            data=data,
        )
        return Response({"updated": n})


class ReleasePlanViewSet(ServiceModelViewSet):
    """Rolling release plans 滚动释放 (held units become available at ``release_at``)."""

    queryset = ReleasePlan.objects.prefetch_related("units")
    serializer_class = ReleasePlanSerializer
    filterset_fields = ["project"]
    http_method_names = ["get", "post", "head", "options"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        project = project_for(request.user, data["project"].pk)
        plan = services.release_plan_create(
            actor=request.user,
            project=project,
            name=data["name"],
            release_at=data["release_at"],
            unit_ids=[u.pk for u in data["units"]],
        )
        return Response(self.get_serializer(plan).data, status=201)


class SalesControlViewSet(ReadOnlyRestrictedViewSet):
    """GET /api/v1/projects/{id}/sales-control/: buildings → floors → units (the board)."""

    queryset = Project.objects.all()

    @extend_schema(
        responses=inline_serializer(
            "SalesControl",
            {
                "project": serializers.IntegerField(),
                "legend": serializers.ListField(),
                "buildings": serializers.ListField(),
            },
        )
    )
    def retrieve(self, request, pk=None):
        project = self.get_object()
        if not access.has_perm(request.user, "unit.view", project):
            raise PermissionDenied()
        grids, rows = board_mod.build_board(project)
        show_floor = can_see_floor_price(request.user, project)

        def unit_json(u):
            data = {
                "id": u["id"],
                "number": u["number"],
                "stair": u["stair"],
                "room": u["room"],
                "layout": u["layout__name"],
                "use": u["use"],
                "gross_area": str(u["gross_area"]),
                "list_price": None if u["list_price"] is None else str(u["list_price"]),
                "status": u["status"],
                "sellable": u["sellable"],
                "version": u["version"],
            }
            return data

        buildings = [
            {
                "id": g.building.pk,
                "name": g.building.name,
                "held_ratio": str(g.held_ratio),
                "floors": [
                    {"floor": floor, "units": [unit_json(c.unit) for c in cells if c]}
                    for floor, cells in g.floors
                ],
            }
            for g in grids
        ]
        legend = [
            {
                "status": i["status"],
                "label": str(i["label"]),
                "count": i["count"],
                "amount": str(i["amount"]),
            }
            for i in board_mod.legend(rows)
        ]
        return Response(
            {
                "project": project.pk,
                "floor_price_visible": show_floor,
                "legend": legend,
                "buildings": buildings,
            }
        )


def register(router):
    router.register("phases", PhaseViewSet, basename="phase")
    router.register("layouts", LayoutViewSet, basename="layout")
    router.register("buildings", BuildingViewSet, basename="building")
    router.register("units", UnitViewSet, basename="unit")
    router.register("release-plans", ReleasePlanViewSet, basename="releaseplan")
