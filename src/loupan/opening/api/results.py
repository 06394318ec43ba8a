"""After the event and favourites in the API (mixed into ``OpeningEventViewSet``):

* ``GET /opening-events/{id}/results/``, ``unpicked/``, ``report/``: what the pages show
  (``results.py``: buyers masked, phones by the customers' contact rule);
* ``GET /opening-events/{id}/favourites/?entry=0007``: a buyer's favourites;
  ``POST`` ``{"entry": "0007", "unit": 123, "on": true}``: a consultant marks or
  unmarks one for them (``opening.pick``; never reserves)."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.core.errors import invalid

from .. import favourites, results, selectors
from ..models import Entry


class OpeningResultSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField(allow_null=True)
    number = serializers.CharField()
    buyer = serializers.CharField()
    phone = serializers.CharField()
    unit = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    list_price = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    total = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    deal = serializers.CharField()
    deal_id = serializers.IntegerField()
    deal_status = serializers.CharField()
    via = serializers.CharField()
    at = serializers.DateTimeField()


class OpeningUnpickedSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    position = serializers.IntegerField(allow_null=True)
    number = serializers.CharField()
    buyer = serializers.CharField()
    phone = serializers.CharField()
    why = serializers.CharField()
    received = serializers.DecimalField(max_digits=14, decimal_places=2)
    held = serializers.DecimalField(max_digits=14, decimal_places=2)
    refunded = serializers.DecimalField(max_digits=14, decimal_places=2)
    converted = serializers.DecimalField(max_digits=14, decimal_places=2)
    sincerity = serializers.CharField()


class OpeningReportBatchSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    positions = serializers.CharField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    entrants = serializers.IntegerField()
    picked = serializers.IntegerField()
    picks = serializers.IntegerField()
    per_minute = serializers.DecimalField(max_digits=10, decimal_places=2)


class OpeningReportSerializer(serializers.Serializer):
    entrants = serializers.IntegerField()
    active = serializers.IntegerField()
    drawn = serializers.IntegerField()
    picked = serializers.IntegerField()
    unpicked = serializers.IntegerField()
    units = serializers.IntegerField()
    picks = serializers.IntegerField()
    sold = serializers.IntegerField()
    unsold = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    held = serializers.DecimalField(max_digits=16, decimal_places=2)
    refunded = serializers.DecimalField(max_digits=16, decimal_places=2)
    converted = serializers.DecimalField(max_digits=16, decimal_places=2)
    per_minute = serializers.DecimalField(max_digits=10, decimal_places=2)
    batches = OpeningReportBatchSerializer(many=True)


class OpeningFavouriteSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    picked = serializers.BooleanField()


class OpeningFavouriteInputSerializer(serializers.Serializer):
    entry = serializers.CharField(label=_("认筹号"), max_length=20)
    unit = serializers.IntegerField(label=_("房间"), min_value=1)
    on = serializers.BooleanField(label=_("收藏"), default=True)


class ResultActions:
    """What the office reads after the event, and favourites for a buyer."""

    @extend_schema(responses=OpeningResultSerializer(many=True))
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        """The picks in the order of selection."""
        rows = results.results(self.get_object(), request.user)
        return Response(OpeningResultSerializer(rows, many=True).data)

    @extend_schema(responses=OpeningUnpickedSerializer(many=True))
    @action(detail=True, methods=["get"])
    def unpicked(self, request, pk=None):
        """The entrants without a live pick, with their sincerity deposit."""
        rows = results.unpicked(self.get_object(), request.user)
        return Response(OpeningUnpickedSerializer(rows, many=True).data)

    @extend_schema(responses=OpeningReportSerializer)
    @action(detail=True, methods=["get"])
    def report(self, request, pk=None):
        """The event report 开盘报告."""
        return Response(OpeningReportSerializer(results.report(self.get_object())).data)

    def _favourite_entry(self, event, number):
        entry = Entry.objects.filter(event=event, number=(number or "").strip()).first()
        if entry is None:
            raise invalid("entry", _("本活动没有这个认筹号"))
        return entry

    def _favourites(self, event, entry):
        liked, _others = favourites.favourite_units(entry, selectors.event_units(event))
        return Response(OpeningFavouriteSerializer(liked, many=True).data)

    @extend_schema(
        methods=["get"],
        parameters=[OpenApiParameter("entry", OpenApiTypes.STR, description="认筹号")],
        responses=OpeningFavouriteSerializer(many=True),
    )
    @extend_schema(
        methods=["post"],
        request=OpeningFavouriteInputSerializer,
        responses=OpeningFavouriteSerializer(many=True),
    )
    @action(detail=True, methods=["get", "post"], url_path="favourites")
    def favourite_list(self, request, pk=None):
        """A buyer's favourites (GET ``?entry=``), or a consultant marks one (POST)."""
        event = self.get_object()
        if request.method == "GET":
            return self._favourites(
                event, self._favourite_entry(event, request.query_params.get("entry"))
            )
        data = OpeningFavouriteInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = self._favourite_entry(event, data.validated_data["entry"])
        favourites.favourite_set(
            actor=request.user,
            entry=entry,
            unit=data.validated_data["unit"],
            on=data.validated_data["on"],
        )
        return self._favourites(event, entry)
