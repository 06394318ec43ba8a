"""The sign-offs in the API, registered by ``loupan/api_urls.py``:

* ``GET /api/v1/signoffs/`` (``?project=``, ``?kind=``, ``?day=``): the entries the caller
  sees (``signoff.view``); ``POST`` ``{project, kind, day, note, correction}`` signs a
  day off (``morning_check``: ``roster.manage``; ``deal_review``: ``deal.review``) or,
  with ``correction``, corrects a signed day (a note required); 409 ``signoff_exists``
  for a second sign-off.
* ``GET /api/v1/signoffs/overview/?project=&start=&end=&kind=&status=``: each day of the
  period per kind, ``on_time``, ``late``, ``missing`` or ``open``.
* ``POST /api/v1/signoffs/deadline/`` ``{project, kind, days_after, at}``: a kind's
  deadline for the project (``signoff.configure``).
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.accounts import access
from loupan.core.api import StrictInputMixin, named_choices, project_by_id, project_param
from loupan.core.errors import DomainError, ErrorCode
from loupan.core.viewsets import RestrictedViewSet

from . import services
from .kinds import choices
from .models import SignOff


class SignOffSerializer(serializers.ModelSerializer):
    signed_by_name = serializers.SerializerMethodField()
    kind_label = serializers.CharField(read_only=True)
    correction = serializers.BooleanField(source="is_correction", read_only=True)

    class Meta:
        model = SignOff
        fields = [
            "id",
            "project",
            "kind",
            "kind_label",
            "day",
            "seq",
            "correction",
            "signed_by",
            "signed_by_name",
            "signed_at",
            "deadline",
            "late",
            "note",
            "figures",
        ]
        read_only_fields = fields

    def get_signed_by_name(self, obj) -> str:
        return obj.signed_by.real_name or obj.signed_by.username


class SignInputSerializer(StrictInputMixin, serializers.Serializer):
    project = serializers.IntegerField(label=_("项目"))
    kind = serializers.CharField(label=_("签核类型"), help_text="morning_check | deal_review")
    day = serializers.CharField(label=_("日期"), help_text="YYYY-MM-DD")
    note = serializers.CharField(label=_("说明"), required=False, allow_blank=True, default="")
    correction = serializers.BooleanField(label=_("更正"), required=False, default=False)


class DeadlineInputSerializer(StrictInputMixin, serializers.Serializer):
    project = serializers.IntegerField(label=_("项目"))
    kind = serializers.CharField(label=_("签核类型"))
    days_after = serializers.IntegerField(label=_("当日后天数"))
    at = serializers.CharField(label=_("截止时刻"), help_text="HH:MM")


class DeadlineSerializer(serializers.Serializer):
    kind = serializers.CharField()
    days_after = serializers.IntegerField()
    at = serializers.TimeField()


class DayRowSerializer(serializers.Serializer):
    kind = serializers.CharField(source="kind.code")
    kind_label = serializers.CharField(source="kind.label")
    day = serializers.DateField()
    deadline = serializers.DateTimeField()
    status = named_choices("SignOffStatus", services.STATUS_CHOICES)(
        choices=services.STATUS_CHOICES
    )
    status_label = serializers.CharField()
    entries = SignOffSerializer(many=True)


def _input(serializer_class, request) -> dict:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class SignOffViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """主管签核: the sign-offs of 晨检 and 主管复审 (frozen once written)."""

    queryset = SignOff.objects.select_related("signed_by").order_by("-day", "kind", "seq")
    serializer_class = SignOffSerializer
    project_filter = "project_id"

    def get_queryset(self):
        qs = super().get_queryset()
        params = self.request.query_params
        if params.get("kind"):
            qs = qs.filter(kind=params["kind"])
        if params.get("day"):
            qs = qs.filter(day=services.the_day(params["day"]))
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("project", OpenApiTypes.INT),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=[c for c, _l in choices()] or None),
            OpenApiParameter("day", OpenApiTypes.DATE),
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=SignInputSerializer, responses={201: SignOffSerializer})
    def create(self, request, *args, **kwargs):
        data = _input(SignInputSerializer, request)
        project = project_by_id(request.user, data["project"])
        entry = services.signoff_sign(
            actor=request.user,
            project=project,
            kind=data["kind"],
            day=data["day"],
            note=data["note"],
            correction=data["correction"],
        )
        return Response(SignOffSerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            OpenApiParameter("project", OpenApiTypes.INT, required=True),
            OpenApiParameter("start", OpenApiTypes.DATE),
            OpenApiParameter("end", OpenApiTypes.DATE),
            OpenApiParameter("kind", OpenApiTypes.STR),
            OpenApiParameter(
                "status", OpenApiTypes.STR, enum=[c for c, _l in services.STATUS_CHOICES]
            ),
        ],
        responses=DayRowSerializer(many=True),
    )
    @action(detail=False, methods=["get"])
    def overview(self, request):
        project = project_param(request)
        if not access.has_perm(request.user, "signoff.view", project):
            raise DomainError(ErrorCode.PERMISSION_DENIED)
        params = request.query_params
        start, end = services.period(params.get("start"), params.get("end"))
        kind = params.get("kind") or None
        if kind:
            services.the_kind(kind)
        state = params.get("status") or None
        if state and state not in services.status_labels():
            from loupan.core.errors import invalid

            raise invalid("status", _("状态：无效的状态"))
        rows = services.overview(project, start, end, kind=kind, status=state)
        return Response(DayRowSerializer(rows, many=True).data)

    @extend_schema(request=DeadlineInputSerializer, responses=DeadlineSerializer)
    @action(detail=False, methods=["post"])
    def deadline(self, request):
        data = _input(DeadlineInputSerializer, request)
        project = project_by_id(request.user, data["project"])
        row = services.signoff_deadline_set(
            actor=request.user,
            project=project,
            kind=data["kind"],
            days_after=data["days_after"],
            at=data["at"],
        )
        return Response(DeadlineSerializer(row).data)


def register(router) -> None:
    router.register("signoffs", SignOffViewSet, basename="signoff")
