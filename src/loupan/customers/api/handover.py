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

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.accounts import access
from loupan.accounts.models import User
from loupan.core.api import project_by_id, project_param
from loupan.core.errors import invalid
from loupan.core.viewsets import RestrictedViewSet
from loupan.inventory.selectors import project_list

from .. import handover as svc
from ..models import Handover, HandoverMode
from .serializers import (
    HandoverCandidatesSerializer,
    HandoverDetailSerializer,
    HandoverExecuteSerializer,
    HandoverPreviewSerializer,
    HandoverRequestSerializer,
    HandoverSerializer,
    preview_data,
)


def _project(request, raw):
    """The project the caller belongs to (404 otherwise)."""
    return project_by_id(request.user, raw, queryset=project_list(user=request.user))


def _user(pk, name: str):
    if pk is None:
        return None
    user = User.objects.filter(pk=pk).first()
    if user is None:
        raise invalid(name, "用户不存在", f"{name}：用户不存在")
    return user


class HandoverViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """离职交接 (seed 002 §4): past handovers of the projects where the caller holds
    ``customer.assign``; preview (dry run) and execute."""

    queryset = Handover.objects.all()
    serializer_class = HandoverSerializer
    restrict_action = "assign"

    def get_queryset(self):
        qs = super().get_queryset().select_related("from_user", "actor")
        project = project_param(self.request, required=False)
        if project is not None:
            qs = qs.filter(project_id=project.pk)
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
        return Response(HandoverPreviewSerializer(preview_data(plan)).data)

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
