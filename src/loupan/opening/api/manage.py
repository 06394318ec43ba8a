"""The office's steps of an opening event in the API (``opening.manage``), the same
services as the event's page (``manage_views.py``), refusals in the one error shape:

* ``POST /opening-events/{id}/open/``, ``close/``, ``start/``, ``finish/``: a step of the
  day (``event_open``, ``event_close``, ``selection_start``, ``event_finish``);
* ``POST /opening-events/{id}/draw/`` ``{"public_value": "483920"}``: the draw;
* ``POST /opening-events/{id}/batches/`` ``{"batches": [{"first": 1, "last": 20,
  "starts_at": …, "ends_at": …}, …]}``: the batches, covering every drawn position;
* ``GET /opening-events/{id}/entries/``: the entrants in order (names masked);
  ``POST`` ``{"customer": 12, "first_home": true, "payment_method": "commercial"}``:
  认筹, answering the selection code once;
* ``POST /opening-events/{id}/entries/qualify/`` and ``entries/withdraw/``
  ``{"entry": "0007"}``: confirm a buyer's 购房资格, or 退筹.

Mixed into ``OpeningEventViewSet`` (``api/views.py``)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.core.api import named_choices
from loupan.core.errors import invalid
from loupan.customers.models import Customer
from loupan.deals.models import PaymentMethod

from .. import selectors, services
from ..models import Entry, EntryStatus

EntryStatusField = named_choices("OpeningEntryStatus", EntryStatus.choices)


class DrawInputSerializer(serializers.Serializer):
    public_value = serializers.CharField(label=_("公开随机值"), max_length=300)


class BatchInputSerializer(serializers.Serializer):
    first = serializers.IntegerField(label=_("起始顺序号"), min_value=1)
    last = serializers.IntegerField(label=_("截止顺序号"), min_value=1)
    starts_at = serializers.DateTimeField(label=_("开始时间"))
    ends_at = serializers.DateTimeField(label=_("结束时间"))


class BatchesInputSerializer(serializers.Serializer):
    batches = BatchInputSerializer(many=True, allow_empty=False)


class BatchSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    first = serializers.IntegerField()
    last = serializers.IntegerField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class OpeningEntrantSerializer(serializers.Serializer):
    """An entrant as the event's page lists it: the name masked."""

    id = serializers.IntegerField()
    number = serializers.CharField()
    name = serializers.CharField()
    first_home = serializers.BooleanField()
    status = serializers.CharField()
    qualified = serializers.BooleanField()
    round = serializers.CharField()
    position = serializers.IntegerField(allow_null=True)
    units = serializers.ListField(child=serializers.CharField())


class EntryInputSerializer(serializers.Serializer):
    customer = serializers.IntegerField(label=_("客户"), min_value=1)
    first_home = serializers.BooleanField(label=_("首套家庭"), required=False, default=False)
    payment_method = serializers.ChoiceField(
        label=_("付款方式"), choices=PaymentMethod.choices, required=False, allow_blank=True
    )


class OpeningEntrySerializer(serializers.ModelSerializer):
    status = EntryStatusField(choices=EntryStatus.choices, read_only=True)
    qualified = serializers.SerializerMethodField()

    class Meta:
        model = Entry
        fields = ["id", "number", "status", "first_home", "payment_method", "qualified", "position"]

    def get_qualified(self, obj) -> bool:
        return obj.qualified_at is not None


class OpeningRegisteredSerializer(OpeningEntrySerializer):
    code = serializers.CharField(help_text=_("选房码，只返回这一次"))

    class Meta(OpeningEntrySerializer.Meta):
        fields = [*OpeningEntrySerializer.Meta.fields, "code"]


class EntryNumberSerializer(serializers.Serializer):
    entry = serializers.CharField(label=_("认筹号"), max_length=20)


class ManageActions:
    """The office's actions on an event (``OpeningEventViewSet`` mixes them in)."""

    def _step(self, request, call):
        event = call(actor=request.user, event=self.get_object())
        return Response(self.get_serializer(event).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"], url_path="open")
    def open_registration(self, request, pk=None):
        """Registrations open: the seed's commitment is published."""
        return self._step(request, services.event_open)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        """Registrations close: the entrant list is frozen and its SHA-256 published."""
        return self._step(request, services.event_close)

    @extend_schema(request=DrawInputSerializer)
    @action(detail=True, methods=["post"])
    def draw(self, request, pk=None):
        """摇号 with the public value named in advance."""
        data = DrawInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        event = services.event_draw(
            actor=request.user,
            event=self.get_object(),
            public_value=data.validated_data["public_value"],
        )
        return Response(self.get_serializer(event).data)

    @extend_schema(request=BatchesInputSerializer, responses=BatchSerializer(many=True))
    @action(detail=True, methods=["post"])
    def batches(self, request, pk=None):
        """The selection's batches, by position, in order."""
        data = BatchesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rows = services.batches_set(
            actor=request.user,
            event=self.get_object(),
            batches=[
                (b["first"], b["last"], b["starts_at"], b["ends_at"])
                for b in data.validated_data["batches"]
            ],
        )
        return Response(BatchSerializer(rows, many=True).data)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        """The selection starts."""
        return self._step(request, services.selection_start)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"])
    def finish(self, request, pk=None):
        """The selection is over."""
        return self._step(request, services.event_finish)

    @extend_schema(methods=["get"], responses=OpeningEntrantSerializer(many=True))
    @extend_schema(
        methods=["post"], request=EntryInputSerializer, responses={201: OpeningRegisteredSerializer}
    )
    @action(detail=True, methods=["get", "post"])
    def entries(self, request, pk=None):
        """The entrants in order (GET), or 认筹 for a customer (POST, ``opening.manage``)."""
        event = self.get_object()
        if request.method == "GET":
            return Response(OpeningEntrantSerializer(selectors.entrants(event), many=True).data)
        data = EntryInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        customer = Customer.objects.filter(
            project_id=event.project_id, pk=data.validated_data["customer"]
        ).first()
        if customer is None:
            raise invalid("customer", _("本项目没有这个客户"))
        entry, code = services.entry_register(
            actor=request.user,
            event=event,
            customer=customer,
            first_home=data.validated_data["first_home"],
            payment_method=data.validated_data.get("payment_method", ""),
        )
        entry.code = code
        return Response(OpeningRegisteredSerializer(entry).data, status=status.HTTP_201_CREATED)

    def _entry(self, request):
        event = self.get_object()
        data = EntryNumberSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = Entry.objects.filter(event=event, number=data.validated_data["entry"]).first()
        if entry is None:
            raise invalid("entry", _("本活动没有这个认筹号"))
        return entry

    @extend_schema(request=EntryNumberSerializer, responses=OpeningEntrySerializer)
    @action(detail=True, methods=["post"], url_path="entries/qualify")
    def entry_qualify(self, request, pk=None):
        """The office confirms the buyer's 购房资格."""
        entry = services.entry_qualify(actor=request.user, entry=self._entry(request))
        return Response(OpeningEntrySerializer(entry).data)

    @extend_schema(request=EntryNumberSerializer, responses=OpeningEntrySerializer)
    @action(detail=True, methods=["post"], url_path="entries/withdraw")
    def entry_withdraw(self, request, pk=None):
        """退筹 (the sincerity deposit is then refunded by finance)."""
        entry = services.entry_withdraw(actor=request.user, entry=self._entry(request))
        return Response(OpeningEntrySerializer(entry).data)
