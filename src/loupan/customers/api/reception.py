"""Reception API: ``/api/v1/roster/``, ``/api/v1/receptions/`` (with the next-turn queue
``/api/v1/receptions/next/?project=…``) and ``/api/v1/calls/``.

Lists start from what the caller may see (a project they hold no customer permission on
shows nothing; a forbidden object is a 404); every write is a service in
``customers.reception``; errors come in the one shape ``{"code", "message", "fields"}``.
Phone numbers are masked for everyone but the receiving consultant and the roles allowed
to reveal.
"""

from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from loupan.accounts import access
from loupan.core.errors import DomainError, ErrorCode
from loupan.core.identity import display_phone
from loupan.core.masking import mask_phone
from loupan.core.viewsets import RestrictedViewSet
from loupan.inventory.models import Project

from .. import reception as svc
from ..models import CallRecord, Customer, Post, Reception, ReceptionKind, RosterEntry


def _projects(user, *codes):
    ids = set()
    for code in codes:
        ids.update(access.projects_with(user, code))
    if user.is_superuser:
        return Project.objects.values_list("pk", flat=True)
    return sorted(ids)


def _project_param(request, *codes):
    """The ``project`` of the query or body, visible to the caller (404 otherwise)."""
    raw = request.query_params.get("project") or request.data.get("project")
    if not raw:
        raise DomainError(ErrorCode.INVALID, "项目：请指定项目", {"project": ["请指定项目"]})
    try:
        pk = int(raw)
    except (TypeError, ValueError) as exc:
        raise DomainError(
            ErrorCode.INVALID, "项目：无效的项目", {"project": ["无效的项目"]}
        ) from exc
    return get_object_or_404(Project.objects.filter(pk__in=_projects(request.user, *codes)), pk=pk)


def _date_param(request, name="date"):
    raw = request.query_params.get(name) or request.data.get(name)
    if not raw:
        return timezone.localdate()
    field = serializers.DateField()
    try:
        return field.to_internal_value(raw)
    except serializers.ValidationError as exc:
        raise DomainError(
            ErrorCode.INVALID, "日期：日期格式应为 YYYY-MM-DD", {name: ["日期格式应为 YYYY-MM-DD"]}
        ) from exc


class UserBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="get_full_name")


# --- roster -------------------------------------------------------------------------------


class RosterEntrySerializer(serializers.ModelSerializer):
    user_name = serializers.CharField(source="user.get_full_name", read_only=True)

    class Meta:
        model = RosterEntry
        fields = ["id", "project", "date", "post", "position", "user", "user_name", "away"]
        read_only_fields = fields


class RosterSetSerializer(serializers.Serializer):
    project = serializers.IntegerField(label="项目")
    date = serializers.DateField(label="日期")
    post = serializers.ChoiceField(label="岗位", choices=Post.choices)
    user_ids = serializers.ListField(label="排班顾问", child=serializers.IntegerField())


class AwaySerializer(serializers.Serializer):
    away = serializers.BooleanField(label="暂离")


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
        params = self.request.query_params
        if params.get("project"):
            qs = qs.filter(project_id=params["project"])
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


class ReceptionSerializer(serializers.ModelSerializer):
    consultant_name = serializers.CharField(source="consultant.get_full_name", read_only=True)
    customer_name = serializers.CharField(source="customer.name", default=None, read_only=True)
    is_research = serializers.SerializerMethodField()

    class Meta:
        model = Reception
        fields = [
            "id",
            "project",
            "kind",
            "consultant",
            "consultant_name",
            "customer",
            "customer_name",
            "call",
            "is_research",
            "at",
            "by_turn",
            "skipped",
            "note",
        ]
        read_only_fields = fields

    def get_is_research(self, obj) -> bool:
        return bool(obj.call_id and obj.call.is_research)


class ReceptionTakeSerializer(serializers.Serializer):
    project = serializers.IntegerField(label="项目")
    post = serializers.ChoiceField(label="岗位", choices=Post.choices + ReceptionKind.choices)
    customer = serializers.IntegerField(label="客户", required=False, allow_null=True)
    call = serializers.IntegerField(label="来电", required=False, allow_null=True)
    returning_customer = serializers.IntegerField(label="老客户", required=False, allow_null=True)
    brought_by = serializers.IntegerField(label="带访老客户", required=False, allow_null=True)
    note = serializers.CharField(label="备注", required=False, allow_blank=True, max_length=200)


class NextTurnSerializer(serializers.Serializer):
    post = serializers.CharField()
    user = UserBriefSerializer(allow_null=True)
    skipped = UserBriefSerializer(many=True)


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
        params = self.request.query_params
        if params.get("project"):
            qs = qs.filter(project_id=params["project"])
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
                    raise DomainError(ErrorCode.INVALID, "客户：不存在", {name: ["客户不存在"]})
        if v.get("call"):
            kwargs["call"] = svc.calls_visible(request.user, project).filter(pk=v["call"]).first()
            if kwargs["call"] is None:
                raise DomainError(ErrorCode.INVALID, "来电：不存在", {"call": ["来电不存在"]})
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


class CallRecordSerializer(serializers.ModelSerializer):
    phone = serializers.SerializerMethodField()
    received_by_name = serializers.CharField(source="received_by.get_full_name", read_only=True)
    missing = serializers.SerializerMethodField()

    class Meta:
        model = CallRecord
        fields = [
            "id",
            "project",
            "called_at",
            "phone",
            "name",
            "question",
            "channel",
            "is_research",
            "competitor",
            "received_by",
            "received_by_name",
            "customer",
            "confirmed_by",
            "confirmed_at",
            "missing",
        ]
        read_only_fields = fields

    def get_phone(self, obj) -> str:
        user = self.context["request"].user
        shown = display_phone(obj.phone)
        if obj.received_by_id == user.pk or access.has_perm(
            user, "customer.reveal", obj.project_id
        ):
            return shown
        return mask_phone(shown)

    def get_missing(self, obj) -> list[str]:
        return svc.call_missing(obj)


class CallWriteSerializer(serializers.Serializer):
    project = serializers.IntegerField(label="项目", required=False)
    called_at = serializers.DateTimeField(label="来电时间", required=False)
    phone = serializers.CharField(label="来电号码", required=False, allow_blank=True, max_length=30)
    name = serializers.CharField(label="称呼", required=False, allow_blank=True, max_length=50)
    question = serializers.CharField(
        label="咨询内容", required=False, allow_blank=True, max_length=200
    )
    channel = serializers.IntegerField(label="认知途径", required=False, allow_null=True)
    is_research = serializers.BooleanField(label="同行调研", required=False)
    competitor = serializers.CharField(
        label="同行单位", required=False, allow_blank=True, max_length=100
    )
    received_by = serializers.IntegerField(label="接听顾问", required=False, allow_null=True)
    confirm = serializers.BooleanField(label="核查", required=False, default=False)


class LinkSerializer(serializers.Serializer):
    customer = serializers.IntegerField(label="客户")


class CallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """来电记录: consultants see their own, supervisors and the office all calls of
    their projects. ``POST`` records a call (by turn unless ``received_by``);
    ``PATCH`` corrects (with ``confirm`` at the morning check); ``POST {id}/confirm/``
    confirms; ``POST {id}/link/`` links the caller's customer."""

    queryset = CallRecord.objects.all()
    serializer_class = CallRecordSerializer

    def get_queryset(self):
        qs = super().get_queryset().select_related("received_by")
        params = self.request.query_params
        if params.get("project"):
            qs = qs.filter(project_id=params["project"])
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
