"""Opening day's API (issue 16): ``/api/v1/opening-events/``.

* ``GET /opening-events/?project=`` and ``GET /opening-events/{id}/``: the events the
  caller may see, with the lottery's public data (the seed only once drawn);
* ``GET /opening-events/{id}/units/``: the units with picked or free (no personal data);
* ``GET /opening-events/{id}/package/``: the published lottery package;
* ``POST /opening-events/{id}/picks/`` ``{"entry": "0007", "unit": 123}``: a pick for a
  buyer (``opening.pick``), refused with ``unit_taken``, ``quota_reached``,
  ``not_your_turn``, ``not_in_event`` … in the one error shape.

The buyers' own, without an account, token or session (an event from its draw on):

* ``GET /opening-events/{id}/live/[?since=<last_pick>]``: what is picked and free now,
  the server's clock and the batch (``live.snapshot``: no personal data); with
  ``since`` only the units picked after that pick (what the phones poll);
* ``POST /opening-events/{id}/buyer-picks/`` ``{"entry": "0007", "code": "12345678",
  "unit": 123}``: the buyer picks with the entry number and the selection code
  (``services.buyer_pick``), refused also with ``code_invalid``, ``code_locked``,
  ``too_fast`` (the buyer's limit) and ``address_too_fast`` (the address's)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from loupan.core.api import FieldsOnce, named_choices
from loupan.core.context import client_ip
from loupan.core.errors import DomainError, ErrorCode, invalid
from loupan.core.viewsets import ReadOnlyRestrictedViewSet

from .. import live, selectors, services
from ..models import Entry, EventStatus, OpeningEvent, PickVia
from .manage import ManageActions
from .results import ResultActions

EventStatusField = named_choices("OpeningEventStatus", EventStatus.choices)


class EventSerializer(serializers.ModelSerializer):
    status = EventStatusField(choices=EventStatus.choices, read_only=True)
    seed = serializers.SerializerMethodField()

    class Meta:
        model = OpeningEvent
        fields = [
            "id",
            "project",
            "name",
            "status",
            "registration_closes_at",
            "selection_on",
            "max_units",
            "requires_qualification",
            "sincerity_amount",
            "pick_becomes",
            "deposit_amount",
            "public_source",
            "seed_commitment",
            "list_hash",
            "list_frozen_at",
            "public_value",
            "drawn_at",
            "seed",
            "package_digest",
        ]

    def get_seed(self, obj) -> str:
        """Revealed at the draw, never before."""
        return obj.seed if obj.package is not None else ""


class EventUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    building = serializers.CharField()
    floor = serializers.IntegerField()
    layout = serializers.CharField()
    area = serializers.DecimalField(max_digits=10, decimal_places=2)
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    list_price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    picked = serializers.BooleanField()


class PickInputSerializer(serializers.Serializer):
    entry = serializers.CharField(label=_("认筹号"), max_length=20)
    unit = serializers.IntegerField(label=_("房间"), min_value=1)


class BuyerPickInputSerializer(FieldsOnce, serializers.Serializer):
    entry = serializers.CharField(label=_("认筹号"), max_length=20)
    code = serializers.CharField(label=_("选房码"), max_length=20)
    unit = serializers.IntegerField(label=_("房间"), min_value=1)


class PickSerializer(FieldsOnce, serializers.Serializer):
    id = serializers.IntegerField()
    entry = serializers.CharField(source="entry.number")
    unit = serializers.IntegerField(source="unit_id")
    unit_number = serializers.CharField(source="unit.number")
    deal = serializers.IntegerField(
        source="deal_id",
        allow_null=True,
        help_text=_(
            "选房生成的保留单或认购；空：正在生成（LOUPAN_PICK_SEAL=background 或 process）"
        ),
    )
    at = serializers.DateTimeField()


class OpeningEventViewSet(ManageActions, ResultActions, ReadOnlyRestrictedViewSet):
    queryset = OpeningEvent.objects.select_related("project").order_by("-selection_on", "-pk")
    serializer_class = EventSerializer

    def get_queryset(self):
        qs = super().get_queryset()
        project = self.request.query_params.get("project")
        if project not in (None, ""):
            if not str(project).isdigit():
                raise invalid("project", _("应为编号"))
            qs = qs.filter(project_id=int(project))
        return qs

    @extend_schema(
        parameters=[OpenApiParameter("project", OpenApiTypes.INT, description="项目")],
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(responses=EventUnitSerializer(many=True))
    @action(detail=True, methods=["get"])
    def units(self, request, pk=None):
        """The event's units, picked or free (the buyers' and the big screen's view)."""
        return Response(
            EventUnitSerializer(selectors.event_units(self.get_object()), many=True).data
        )

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def package(self, request, pk=None):
        """The published lottery package (404 before the draw)."""
        event = self.get_object()
        if event.package is None:
            raise DomainError(ErrorCode.NOT_FOUND, _("尚未摇号"))
        return Response(event.package)

    @extend_schema(request=PickInputSerializer, responses={201: PickSerializer})
    @action(detail=True, methods=["post"])
    def picks(self, request, pk=None):
        """A pick for a buyer by the office (``opening.pick``)."""
        event = self.get_object()
        data = PickInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = Entry.objects.filter(event=event, number=data.validated_data["entry"]).first()
        if entry is None:
            raise invalid("entry", _("本活动没有这个认筹号"))
        pick = services.unit_pick(
            actor=request.user,
            event=event,
            entry=entry,
            unit=data.validated_data["unit"],
            via=PickVia.API,
            ip=client_ip(request),
        )
        return Response(PickSerializer(pick).data, status=status.HTTP_201_CREATED)

    def _public_event(self):
        event = selectors.public_event(self.kwargs.get("pk"))
        if event is None:
            raise DomainError(ErrorCode.NOT_FOUND)
        return event

    @extend_schema(
        auth=[],
        parameters=[
            OpenApiParameter(
                "since",
                OpenApiTypes.INT,
                description="上次读到的 last_pick：只返回其后被选的房间编号（picked_units，"
                "按选定顺序；房间详情见不带 since 的整盘）",
            )
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(
        detail=True,
        methods=["get"],
        authentication_classes=[],
        permission_classes=[AllowAny],
        pagination_class=None,
        filter_backends=[],
        renderer_classes=[JSONRenderer],  # no negotiation for what 2,000 phones poll
    )
    def live(self, request, pk=None):
        """What is picked and free now, for anyone (no account, no personal data): the
        whole board, or with ``since`` (the ``last_pick`` read before) the ids of the
        units picked after it (``picked_units``, ``live.changes``)."""
        since = request.query_params.get("since")
        if since in (None, ""):
            data = live.snapshot(self._public_event())
        elif not str(since).isdigit():
            raise invalid("since", _("应为编号"))
        else:
            data = live.public_changes(int(pk), int(since)) if str(pk).isdigit() else None
            if data is None:
                raise DomainError(ErrorCode.NOT_FOUND)
        return Response(data, headers={"Cache-Control": "no-cache"})

    @extend_schema(auth=[], request=BuyerPickInputSerializer, responses={201: PickSerializer})
    @action(
        detail=True,
        methods=["post"],
        url_path="buyer-picks",
        authentication_classes=[],
        permission_classes=[AllowAny],
    )
    def buyer_picks(self, request, pk=None):
        """A buyer picks with the entry number 认筹号 and the selection code (no
        account): at most one request per buyer and per address per second."""
        return Response(
            buyer_pick_answer(self._public_event(), request.data, client_ip(request)),
            status=status.HTTP_201_CREATED,
        )


def buyer_pick_answer(event: OpeningEvent, data, ip) -> dict:
    """The buyer API's pick (``POST …/buyer-picks/``): the input checked, the pick made
    (``services.buyer_pick``), the answer's body. DRF's action and the same path
    answered before Django's stack on opening day (``opening.pick_http``) both run it."""
    given = BuyerPickInputSerializer(data=data)
    given.is_valid(raise_exception=True)
    pick = services.buyer_pick(
        event=event,
        number=given.validated_data["entry"],
        code=given.validated_data["code"],
        unit=given.validated_data["unit"],
        via=PickVia.API,
        ip=ip,
    )
    return PickSerializer(pick).data


def register(router) -> None:
    router.register("opening-events", OpeningEventViewSet, basename="openingevent")
