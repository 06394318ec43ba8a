"""Handover API 离职交接: ``/api/v1/handovers/`` lists past handovers (``?project=``),
``POST /api/v1/handovers/preview/`` is the dry run (counts per group, who gets what),
``POST /api/v1/handovers/`` executes (201), ``GET /api/v1/handovers/{id}/`` shows one
with its transfers, ``GET /api/v1/handovers/candidates/?project=…`` lists who may leave
and who may receive.

Everything needs ``customer.assign`` on the project (403 ``permission_denied``); a
project the caller does not belong to, or another project's handover, is a 404. The
rules are in ``customers.handover``; errors come in the one shape
``{"code", "message", "fields"}``.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.accounts import access
from loupan.accounts.models import User
from loupan.core.errors import DomainError, ErrorCode
from loupan.core.viewsets import RestrictedViewSet
from loupan.inventory.selectors import project_list

from .. import handover as svc
from ..models import Handover, HandoverMode


def _project(request, raw):
    """The project the caller belongs to (404 otherwise)."""
    try:
        pk = int(raw)
    except (TypeError, ValueError) as exc:
        raise DomainError(
            ErrorCode.INVALID, "项目：请指定项目", {"project": ["请指定项目"]}
        ) from exc
    return get_object_or_404(project_list(user=request.user), pk=pk)


def _user(pk, name: str):
    if pk is None:
        return None
    user = User.objects.filter(pk=pk).first()
    if user is None:
        raise DomainError(ErrorCode.INVALID, f"{name}：用户不存在", {name: ["用户不存在"]})
    return user


class HandoverUserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="get_full_name")


class HandoverRequestSerializer(serializers.Serializer):
    project = serializers.IntegerField(label="项目")
    from_user = serializers.IntegerField(label="离职顾问")
    mode = serializers.ChoiceField(label="交接方式", choices=HandoverMode.choices)
    calls_to = serializers.IntegerField(label="未成交来电接收人", required=False, allow_null=True)
    open_to = serializers.IntegerField(
        label="未成交来访客户接收人", required=False, allow_null=True
    )
    closed_to = serializers.IntegerField(label="已成交客户接收人", required=False, allow_null=True)
    recipients = serializers.ListField(
        label="接收人（平均分配）", child=serializers.IntegerField(), required=False
    )
    deactivate = serializers.BooleanField(label="同时停用账号", required=False, default=False)
    note = serializers.CharField(label="备注", required=False, allow_blank=True, max_length=150)


class HandoverExecuteSerializer(HandoverRequestSerializer):
    expected = serializers.DictField(
        label="预览时的数量",
        child=serializers.IntegerField(min_value=0),
        required=False,
        help_text="预览返回的 counts；数量有变化时拒绝（409 conflict）。",
    )


class HandoverAssignmentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    to = serializers.IntegerField()
    to_name = serializers.CharField()


class HandoverGroupSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    items = HandoverAssignmentSerializer(many=True)


class HandoverRecipientCountSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    calls = serializers.IntegerField()
    open = serializers.IntegerField()
    closed = serializers.IntegerField()
    total = serializers.IntegerField()


class HandoverPreviewSerializer(serializers.Serializer):
    project = serializers.IntegerField()
    from_user = HandoverUserSerializer()
    mode = serializers.CharField()
    reason = serializers.CharField()
    deactivate = serializers.BooleanField()
    counts = serializers.DictField(child=serializers.IntegerField())
    total = serializers.IntegerField()
    groups = HandoverGroupSerializer(many=True)
    recipients = HandoverRecipientCountSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


def _preview_data(plan) -> dict:
    return {
        "project": plan.project.pk,
        "from_user": plan.from_user,
        "mode": plan.mode,
        "reason": plan.reason,
        "deactivate": plan.deactivate,
        "counts": plan.counts,
        "total": plan.total,
        "groups": [
            {
                "key": g["key"],
                "label": str(g["label"]),
                "count": g["count"],
                "items": [
                    {
                        "id": obj.pk,
                        "name": svc.item_label(obj),
                        "to": u.pk,
                        "to_name": u.get_full_name(),
                    }
                    for obj, u in g["assignments"]
                ],
            }
            for g in plan.groups
        ],
        "recipients": plan.per_recipient,
        "warnings": [str(w) for w in plan.warnings],
    }


class HandoverSerializer(serializers.ModelSerializer):
    from_user_name = serializers.CharField(source="from_user.get_full_name", read_only=True)
    actor_name = serializers.CharField(source="actor.get_full_name", read_only=True)

    class Meta:
        model = Handover
        fields = [
            "id",
            "project",
            "from_user",
            "from_user_name",
            "actor",
            "actor_name",
            "created_at",
            "mode",
            "calls_count",
            "open_count",
            "closed_count",
            "deactivated",
            "reason",
            "recipients",
        ]
        read_only_fields = fields


class HandoverTransferSerializer(serializers.Serializer):
    group = serializers.CharField()
    object_type = serializers.CharField()
    object_id = serializers.CharField()
    object_repr = serializers.CharField()
    to_id = serializers.IntegerField()
    to = serializers.CharField()


class HandoverDetailSerializer(HandoverSerializer):
    transfers = serializers.SerializerMethodField()

    class Meta(HandoverSerializer.Meta):
        fields = [*HandoverSerializer.Meta.fields, "transfers"]
        read_only_fields = fields

    @extend_schema_field(HandoverTransferSerializer(many=True))
    def get_transfers(self, obj) -> list[dict]:
        return HandoverTransferSerializer(svc.handover_transfers(obj), many=True).data


class HandoverCandidatesSerializer(serializers.Serializer):
    departing = HandoverUserSerializer(many=True)
    recipients = HandoverUserSerializer(many=True)


class HandoverViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """离职交接 (seed 002 §4): past handovers of the projects where the caller holds
    ``customer.assign``; preview (dry run) and execute."""

    queryset = Handover.objects.all()
    serializer_class = HandoverSerializer
    restrict_action = "assign"

    def get_queryset(self):
        qs = super().get_queryset().select_related("from_user", "actor")
        project = self.request.query_params.get("project")
        if project:
            qs = qs.filter(project_id=_project(self.request, project).pk)
        return qs.order_by("-created_at", "-pk")

    def get_serializer_class(self):
        if self.action == "retrieve":
            return HandoverDetailSerializer
        return HandoverSerializer

    def _arguments(self, request, serializer_class):
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        project = _project(request, v["project"])
        access.require_perm(request.user, "customer.assign", project)
        kwargs = {
            "actor": request.user,
            "project": project,
            "from_user": _user(v["from_user"], "from_user"),
            "mode": v["mode"],
            "deactivate": v["deactivate"],
            "note": v.get("note", ""),
        }
        if v["mode"] == HandoverMode.BY_GROUP:
            kwargs["to"] = {
                group: _user(v.get(name), name) for group, name in svc.GROUP_FIELDS.items()
            }
        else:
            kwargs["recipients"] = [_user(pk, "recipients") for pk in v.get("recipients", [])]
        if "expected" in v:
            kwargs["expected"] = v["expected"]
        return kwargs

    @extend_schema(parameters=[OpenApiParameter("project", OpenApiTypes.INT)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=HandoverRequestSerializer, responses=HandoverPreviewSerializer)
    @action(detail=False, methods=["post"])
    def preview(self, request):
        """The dry run: counts per group and who gets what; nothing is written."""
        plan = svc.handover_preview(**self._arguments(request, HandoverRequestSerializer))
        return Response(HandoverPreviewSerializer(_preview_data(plan)).data)

    @extend_schema(request=HandoverExecuteSerializer, responses={201: HandoverDetailSerializer})
    def create(self, request):
        """Execute the handover (all or nothing)."""
        handover = svc.handover_execute(**self._arguments(request, HandoverExecuteSerializer))
        return Response(HandoverDetailSerializer(handover).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[OpenApiParameter("project", OpenApiTypes.INT, required=True)],
        responses=HandoverCandidatesSerializer,
    )
    @action(detail=False, methods=["get"])
    def candidates(self, request):
        """Who may be handed over (members of the project, including deactivated ones)
        and who may receive (active members who may own customers)."""
        project = _project(request, request.query_params.get("project"))
        access.require_perm(request.user, "customer.assign", project)
        data = {
            "departing": svc.departing_choices(project),
            "recipients": svc.recipient_choices(project),
        }
        return Response(HandoverCandidatesSerializer(data).data)


def register(router):
    """Register this part's viewsets on the API router."""
    router.register("handovers", HandoverViewSet, basename="handover")
