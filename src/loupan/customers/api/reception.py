"""Reception API: ``/api/v1/roster/``, ``/api/v1/receptions/`` (with the next-turn queue
``/api/v1/receptions/next/?project=…``) and ``/api/v1/calls/``.

Lists start from what the caller may see (a project they hold no customer permission on
shows nothing; a forbidden object is a 404); every write is a service in
``customers.reception``; errors come in the one shape ``{"code", "message", "fields"}``.
Phone numbers are masked for everyone but the receiving consultant and the roles allowed
to reveal.
"""

from django.db.models import Q
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from loupan.accounts import access
from loupan.core.api import project_filtered, project_param
from loupan.core.errors import invalid
from loupan.core.viewsets import RestrictedViewSet
from loupan.inventory.models import Project

from .. import reception as svc
from ..models import CallRecord, Customer, Post, Reception, ReceptionKind, RosterEntry
from .serializers import (
    AwaySerializer,
    CallRecordSerializer,
    CallWriteSerializer,
    LinkSerializer,
    NextTurnSerializer,
    ReceptionSerializer,
    ReceptionTakeSerializer,
    RosterEntrySerializer,
    RosterSetSerializer,
)


def _projects(user, *codes):
    ids = set()
    for code in codes:
        ids.update(access.projects_with(user, code))
    if user.is_superuser:
        return Project.objects.values_list("pk", flat=True)
    return sorted(ids)


def _project_param(request, *codes):
    """The ``project`` of the query or body, among the caller's projects where they hold
    one of ``codes`` (404 otherwise)."""
    return project_param(
        request, queryset=Project.objects.filter(pk__in=_projects(request.user, *codes))
    )


def _date_param(request, name="date"):
    raw = request.query_params.get(name) or request.data.get(name)
    if not raw:
        return timezone.localdate()
    field = serializers.DateField()
    try:
        return field.to_internal_value(raw)
    except serializers.ValidationError as exc:
        raise invalid(name, "日期格式应为 YYYY-MM-DD", "日期：日期格式应为 YYYY-MM-DD") from exc


# --- roster -------------------------------------------------------------------------------


class RosterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """排班: the day's order per post; ``POST /roster/set/`` replaces a day's order
    (``roster.manage``); ``POST /roster/{id}/away/`` marks a consultant away or back."""

    serializer_class = RosterEntrySerializer
    pagination_class = None

    def get_queryset(self):
        user = self.request.user
        qs = RosterEntry.objects.filter(
            project_id__in=_projects(user, "customer.add", "roster.manage", "customer.view")
        ).select_related("user")
        qs = project_filtered(qs, self.request)
        params = self.request.query_params
        if params.get("date"):
            qs = qs.filter(date=_date_param(self.request))
        if params.get("post"):
            qs = qs.filter(post=params["post"])
        return qs.order_by("date", "post", "position")

    @extend_schema(
        parameters=[
            OpenApiParameter("project", OpenApiTypes.INT),
            OpenApiParameter("date", OpenApiTypes.DATE),
            OpenApiParameter("post", OpenApiTypes.STR, enum=Post.values),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=RosterSetSerializer, responses=RosterEntrySerializer(many=True))
    @action(detail=False, methods=["post"], url_path="set")
    def set_roster(self, request):
        data = RosterSetSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = _project_param(request, "customer.add", "roster.manage", "customer.view")
        entries = svc.roster_set(
            actor=request.user,
            project=project,
            date=data.validated_data["date"],
            post=data.validated_data["post"],
            user_ids=data.validated_data["user_ids"],
        )
        for entry in entries:
            entry.refresh_from_db()
        return Response(RosterEntrySerializer(entries, many=True).data, status=status.HTTP_200_OK)

    @extend_schema(request=AwaySerializer, responses=RosterEntrySerializer)
    @action(detail=True, methods=["post"])
    def away(self, request, pk=None):
        entry = self.get_object()
        data = AwaySerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = svc.roster_set_away(
            actor=request.user, entry=entry, away=data.validated_data["away"]
        )
        return Response(RosterEntrySerializer(entry).data)


# --- receptions ---------------------------------------------------------------------------


class ReceptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """接待记录 (who received whom, when, by turn or not, who was skipped as away);
    ``POST /receptions/`` takes the next visitor or call; ``GET /receptions/next/``
    is the next-turn queue."""

    serializer_class = ReceptionSerializer

    def get_queryset(self):
        user = self.request.user
        qs = Reception.objects.filter(
            project_id__in=_projects(user, "customer.add", "roster.manage", "customer.view")
        ).select_related("consultant", "customer", "call")
        qs = project_filtered(qs, self.request)
        params = self.request.query_params
        if params.get("date"):
            qs = qs.filter(at__date=_date_param(self.request))
        if params.get("kind"):
            qs = qs.filter(kind=params["kind"])
        return qs.order_by("-at", "-pk")

    @extend_schema(
        parameters=[
            OpenApiParameter("project", OpenApiTypes.INT),
            OpenApiParameter("date", OpenApiTypes.DATE),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=ReceptionKind.values),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=ReceptionTakeSerializer, responses={201: ReceptionSerializer})
    def create(self, request):
        data = ReceptionTakeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = _project_param(request, "customer.add", "roster.manage", "customer.view")
        v = data.validated_data
        kwargs = {"note": v.get("note", "")}
        customers = Customer.objects.filter(project=project, anonymized_at__isnull=True)
        for name in ("customer", "returning_customer", "brought_by"):
            if v.get(name):
                kwargs[name] = customers.filter(pk=v[name]).first()
                if kwargs[name] is None:
                    raise invalid(name, "客户不存在", "客户：不存在")
        if v.get("call"):
            kwargs["call"] = svc.calls_visible(request.user, project).filter(pk=v["call"]).first()
            if kwargs["call"] is None:
                raise invalid("call", "来电不存在", "来电：不存在")
        reception = svc.reception_take(
            actor=request.user, project=project, post=v["post"], **kwargs
        )
        return Response(ReceptionSerializer(reception).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("project", OpenApiTypes.INT, required=True),
            OpenApiParameter("date", OpenApiTypes.DATE),
        ],
        responses=NextTurnSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def next(self, request):
        """Who receives the next visitor (``floor``) and the next call (``phone``), and
        who is skipped because away."""
        project = _project_param(request, "customer.add", "roster.manage", "customer.view")
        date = _date_param(request)
        out = []
        for post in (Post.FLOOR, Post.PHONE):
            user, skipped = svc.next_in_turn(project, date, post)
            out.append({"post": str(post), "user": user, "skipped": skipped})
        return Response(NextTurnSerializer(out, many=True).data)


# --- calls --------------------------------------------------------------------------------


class CallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """来电记录: consultants see their own, supervisors and the office all calls of
    their projects. ``POST`` records a call (by turn unless ``received_by``);
    ``PATCH`` corrects (with ``confirm`` at the morning check); ``POST {id}/confirm/``
    confirms; ``POST {id}/link/`` links the caller's customer."""

    queryset = CallRecord.objects.all()
    serializer_class = CallRecordSerializer

    def get_queryset(self):
        qs = super().get_queryset().select_related("received_by")
        qs = project_filtered(qs, self.request)
        params = self.request.query_params
        if params.get("date"):
            qs = qs.filter(called_at__date=_date_param(self.request))
        if params.get("is_research") in ("true", "false", "1", "0"):
            qs = qs.filter(is_research=params["is_research"] in ("true", "1"))
        return qs.order_by("-called_at", "-pk")

    @extend_schema(
        parameters=[
            OpenApiParameter("project", OpenApiTypes.INT),
            OpenApiParameter("date", OpenApiTypes.DATE),
            OpenApiParameter("is_research", OpenApiTypes.BOOL),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CallWriteSerializer, responses={201: CallRecordSerializer})
    def create(self, request):
        data = CallWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        project = _project_param(request, "customer.add", "roster.manage", "customer.view")
        values = {k: v for k, v in data.validated_data.items() if k not in ("project", "confirm")}
        call = svc.call_record_create(actor=request.user, project=project, data=values)
        return Response(self.get_serializer(call).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CallWriteSerializer, responses=CallRecordSerializer)
    def partial_update(self, request, pk=None):
        call = self.get_object()
        data = CallWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = {
            k: v
            for k, v in data.validated_data.items()
            if k not in ("project", "confirm", "received_by")
        }
        call = svc.call_update(
            actor=request.user, call=call, data=values, confirm=data.validated_data["confirm"]
        )
        return Response(self.get_serializer(call).data)

    @extend_schema(request=None, responses=CallRecordSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        call = svc.morning_confirm(actor=request.user, call=self.get_object())
        return Response(self.get_serializer(call).data)

    @extend_schema(request=LinkSerializer, responses=CallRecordSerializer)
    @action(detail=True, methods=["post"])
    def link(self, request, pk=None):
        call = self.get_object()
        data = LinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = Customer.objects.filter(
            Q(project_id=call.project_id), pk=data.validated_data["customer"]
        ).first()
        call = svc.call_link_customer(actor=request.user, call=call, customer=customer)
        return Response(self.get_serializer(call).data)


def register(router):
    """Register the reception viewsets on the API router."""
    router.register("roster", RosterViewSet, basename="roster")
    router.register("receptions", ReceptionViewSet, basename="reception")
    router.register("calls", CallViewSet, basename="call")
