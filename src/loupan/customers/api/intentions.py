"""Intended units, 撞车 and problem customers API (issue Customers; seed 002 二.2(2), 二.6).

* ``/api/v1/intended-units/`` — the intended units 意向房源 of the customers the caller
  may see (``?customer=``, ``?project=``, ``?unit=``), each with ``rivals``: how many
  other consultants' customers want the same unit. ``POST {customer, unit}`` records one
  (owner or supervisor; A/B grade, a unit of the project still for sale, no duplicate);
  ``DELETE /{id}/`` removes it.
* ``/api/v1/unit-conflicts/?project=`` — the 撞车 the caller may see: the sales admin,
  supervisors and managers all of them; a consultant those of their own customers, where
  the other consultants' customers come by name and owner only.
* ``/api/v1/problem-customers/`` — the 问题客户一览表 (``customer.assign``);
  ``POST {customer, problem}`` flags (owner or supervisor); ``POST /{id}/resolve/
  {resolution}`` resolves (manager, director).

A customer, unit or project the caller may not see is a 404; refusals come in the one
shape ``{"code", "message", "fields"}``; contact numbers as ``selectors.contact``.
"""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from loupan.core.errors import DomainError, ErrorCode, invalid
from loupan.core.params import id_value
from loupan.inventory.models import Project, Unit

from .. import intentions as svc
from ..models import Customer
from .serializers import (
    ConflictSerializer,
    IntendedUnitAddSerializer,
    IntendedUnitSerializer,
    ProblemCustomerSerializer,
    ProblemFlagSerializer,
    ProblemResolveSerializer,
    conflict_data,
)


def _int_param(request, name, label, required=False):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        if required:
            raise invalid(
                name,
                _("请指定%(label)s") % {"label": label},
                _("%(label)s：请指定%(label)s") % {"label": label},
            )
        return None
    try:
        return id_value(raw, name)
    except DomainError as exc:
        raise invalid(
            name,
            _("无效的%(label)s") % {"label": label},
            _("%(label)s：无效的%(label)s") % {"label": label},
        ) from exc


def _visible_customers(user):
    return Customer.objects.restrict(user, "view").filter(anonymized_at__isnull=True)


# --- intended units -----------------------------------------------------------------------


class IntendedUnitViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, GenericViewSet
):
    """意向房源 of the customers the caller may see."""

    serializer_class = IntendedUnitSerializer

    def get_queryset(self):
        qs = svc.intended_units_visible(self.request.user).select_related("customer", "unit")
        if self.action == "list":
            for name, lookup, label in (
                ("customer", "customer_id", _("客户")),
                ("project", "customer__project_id", _("项目")),
                ("unit", "unit_id", _("房间")),
            ):
                value = _int_param(self.request, name, label)
                if value is not None:
                    qs = qs.filter(**{lookup: value})
        return qs.order_by("-created_at", "-pk")

    @extend_schema(
        parameters=[
            OpenApiParameter("customer", OpenApiTypes.INT),
            OpenApiParameter("project", OpenApiTypes.INT),
            OpenApiParameter("unit", OpenApiTypes.INT),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=IntendedUnitAddSerializer, responses={201: IntendedUnitSerializer})
    def create(self, request):
        data = IntendedUnitAddSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = get_object_or_404(
            _visible_customers(request.user), pk=data.validated_data["customer"]
        )
        unit = get_object_or_404(
            Unit.objects.restrict(request.user, "view"), pk=data.validated_data["unit"]
        )
        intended = svc.intended_unit_add(actor=request.user, customer=customer, unit=unit)
        intended = self.get_queryset().get(pk=intended.pk)
        return Response(self.get_serializer(intended).data, status=status.HTTP_201_CREATED)

    def perform_destroy(self, instance):
        svc.intended_unit_remove(actor=self.request.user, intended=instance)


# --- 撞车 ------------------------------------------------------------------------------------


class ConflictViewSet(GenericViewSet):
    """撞车 of one project (``?project=`` required; a project the caller holds no customer
    permission on is a 404)."""

    serializer_class = ConflictSerializer
    pagination_class = None

    def get_queryset(self):
        return Project.objects.none()

    @extend_schema(
        parameters=[OpenApiParameter("project", OpenApiTypes.INT, required=True)],
        responses=ConflictSerializer(many=True),
    )
    def list(self, request):
        pk = _int_param(request, "project", _("项目"), required=True)
        project = get_object_or_404(Project.objects.restrict(request.user, "view"), pk=pk)
        if not svc.can_view_conflicts(request.user, project):
            raise DomainError(ErrorCode.NOT_FOUND)
        conflicts = svc.conflict_list(user=request.user, project=project)
        return Response(ConflictSerializer([conflict_data(c) for c in conflicts], many=True).data)


# --- problem customers ---------------------------------------------------------------------


class ProblemCustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """问题客户一览表 of the projects where the caller holds ``customer.assign``
    (``?project=``); ``id`` is the customer's."""

    serializer_class = ProblemCustomerSerializer

    def get_queryset(self):
        qs = svc.problem_customers(user=self.request.user)
        if self.action == "list":
            project = _int_param(self.request, "project", _("项目"))
            if project is not None:
                qs = qs.filter(project_id=project)
        return qs

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "flagged_by": getattr(self, "_flagged", {})}

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        self._flagged = svc.flagged_by(page if page is not None else list(queryset))
        return page

    def get_object(self):
        obj = super().get_object()
        self._flagged = svc.flagged_by([obj])
        return obj

    @extend_schema(parameters=[OpenApiParameter("project", OpenApiTypes.INT)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ProblemFlagSerializer, responses={201: ProblemCustomerSerializer})
    def create(self, request):
        """Flag a customer as a problem customer (the owner or a supervisor)."""
        data = ProblemFlagSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = get_object_or_404(
            _visible_customers(request.user).select_related("owner"),
            pk=data.validated_data["customer"],
        )
        customer = svc.problem_flag(
            actor=request.user, customer=customer, problem=data.validated_data["problem"]
        )
        self._flagged = svc.flagged_by([customer])
        return Response(self.get_serializer(customer).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ProblemResolveSerializer, responses=ProblemCustomerSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        """Resolve with a note (the manager or the director); the flag is cleared."""
        customer = self.get_object()
        data = ProblemResolveSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = svc.problem_resolve(
            actor=request.user, customer=customer, resolution=data.validated_data["resolution"]
        )
        return Response(self.get_serializer(customer).data)


def register(router):
    """Register this part's viewsets on the API router."""
    router.register("intended-units", IntendedUnitViewSet, basename="intendedunit")
    router.register("unit-conflicts", ConflictViewSet, basename="unitconflict")
    router.register("problem-customers", ProblemCustomerViewSet, basename="problemcustomer")
