"""The office's report data in the API (issue 15), registered by ``loupan/api_urls.py``:

* ``/api/v1/report-targets/`` 销售目标: list (``?project=``, ``?year=``, ``?month=YYYY-MM``,
  ``?consultant=``, ``?project_level=true``) for ``report.view`` (a consultant with
  ``report.view_own``: their own); ``POST`` sets a month's target (an existing one of the
  same project, month and consultant is changed: 200 instead of 201); ``PUT``/``PATCH``
  ``…/{id}/`` change its amounts; ``DELETE`` removes it (``report.target``).
* ``/api/v1/channel-spends/`` 推广费用: the same for a channel's month (``?channel=``;
  ``report.spend``).
* ``/api/v1/report-settings/{project_id}/`` 报表设置: ``GET`` for ``report.view``, ``PUT`` or
  ``PATCH`` with any subset of the fields for ``report.configure``.

Money is a string ("1000.00"; a JSON float is refused); every write goes through
``reports.office``, whose refusals name the field in the one error shape.
"""

import django_filters
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from loupan.accounts import access
from loupan.core.api import ID_PATTERN, project_by_id
from loupan.core.errors import DomainError, ErrorCode
from loupan.core.viewsets import RestrictedViewSet
from loupan.inventory.models import Project
from loupan.reports import office
from loupan.reports.daily import settings_of
from loupan.reports.models import ChannelSpend, ReportSettings, Target

FLOAT_REFUSED = gettext_lazy("金额须以字符串提交（如“1000.00”），不接受浮点数")


class AmountField(serializers.CharField):
    """Yuan as a string to the fen (an integer is taken too; a float never)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", gettext_lazy("元，精确到分，如“1000.00”"))
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, float | bool):
            raise serializers.ValidationError(str(FLOAT_REFUSED))
        return super().to_internal_value(data)


def _project(request, raw) -> Project:
    return project_by_id(request.user, raw)


def _input(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _name(user) -> str:
    return (user.real_name or user.username) if user is not None else ""


class MonthFilterMixin(django_filters.FilterSet):
    project = django_filters.NumberFilter(label=gettext_lazy("项目"), field_name="project_id")
    # the years the pages offer (``office.FIRST_YEAR``–``LAST_YEAR``), whole: another
    # value is a 400 naming the field (year 0 or 0.25 was a 500)
    year = django_filters.NumberFilter(
        label=gettext_lazy("年份"),
        method="filter_year",
        min_value=office.FIRST_YEAR,
        max_value=office.LAST_YEAR,
        decimal_places=0,
    )
    month = django_filters.CharFilter(label=gettext_lazy("月份（YYYY-MM）"), method="filter_month")

    def filter_year(self, queryset, name, value):
        return queryset.filter(month__year=int(value))

    def filter_month(self, queryset, name, value):
        return queryset.filter(month=office.parse_month(value))


# --- targets ------------------------------------------------------------------------------------


class TargetSerializer(serializers.ModelSerializer):
    """A month's target of the project (``consultant`` null) or of one consultant."""

    consultant_name = serializers.SerializerMethodField(label=gettext_lazy("置业顾问姓名"))

    class Meta:
        model = Target
        fields = [
            "id",
            "project",
            "month",
            "consultant",
            "consultant_name",
            "amount",
            "units",
            "collections",
            "updated_by",
            "updated_at",
        ]
        read_only_fields = fields

    def get_consultant_name(self, obj) -> str:
        return _name(obj.consultant)


class TargetAmountsSerializer(serializers.Serializer):
    amount = AmountField(label=gettext_lazy("销售额目标（元）"), required=False)
    units = serializers.IntegerField(label=gettext_lazy("套数目标"), required=False)
    collections = AmountField(label=gettext_lazy("回款目标（元）"), required=False)


class TargetInputSerializer(TargetAmountsSerializer):
    """Set a target: the project, the month (``YYYY-MM`` or any day of it), the consultant
    (a member who sells; null for the project's own target) and the amounts (0 when not
    given)."""

    project = serializers.IntegerField(label=gettext_lazy("项目"))
    month = serializers.CharField(label=gettext_lazy("月份"), help_text="YYYY-MM")
    consultant = serializers.IntegerField(
        label=gettext_lazy("置业顾问"), required=False, allow_null=True, default=None
    )


class TargetFilterSet(MonthFilterMixin):
    consultant = django_filters.NumberFilter(
        label=gettext_lazy("置业顾问"), field_name="consultant_id"
    )
    project_level = django_filters.BooleanFilter(
        label=gettext_lazy("项目目标（不含个人）"), field_name="consultant", lookup_expr="isnull"
    )

    class Meta:
        model = Target
        fields = ["project", "year", "month", "consultant", "project_level"]


class TargetViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """销售目标: the targets the caller may see; writes need ``report.target``."""

    queryset = Target.objects.select_related("consultant").order_by(
        "project_id", "month", "consultant_id", "pk"
    )
    serializer_class = TargetSerializer
    filterset_class = TargetFilterSet
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    @extend_schema(
        request=TargetInputSerializer, responses={201: TargetSerializer, 200: TargetSerializer}
    )
    def create(self, request, *args, **kwargs):
        """Set a month's target (201; 200 when it existed and was changed)."""
        data = _input(TargetInputSerializer, request)
        project = _project(request, data.pop("project"))
        month = office.parse_month(data.pop("month"))
        existed = Target.objects.filter(
            project=project, month=month, consultant_id=data.get("consultant")
        ).exists()
        target = office.target_set(
            actor=request.user,
            project=project,
            month=month,
            consultant=data.pop("consultant"),
            amount=data.get("amount"),
            units=data.get("units"),
            collections=data.get("collections"),
        )
        return Response(
            self.get_serializer(target).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    @extend_schema(request=TargetAmountsSerializer, responses=TargetSerializer)
    def update(self, request, *args, **kwargs):
        """Change the target's amounts (those not given keep their values)."""
        target = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        data = _input(TargetAmountsSerializer, request)
        target = office.target_set(
            actor=request.user,
            project=target.project,
            month=target.month,
            consultant=target.consultant,
            amount=data.get("amount", target.amount),
            units=data.get("units", target.units),
            collections=data.get("collections", target.collections),
        )
        return Response(self.get_serializer(target).data)

    @extend_schema(request=TargetAmountsSerializer, responses=TargetSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        target = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        office.target_delete(actor=request.user, target=target)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- channel spend -----------------------------------------------------------------------------


class ChannelSpendSerializer(serializers.ModelSerializer):
    channel_name = serializers.CharField(source="channel.name", read_only=True)

    class Meta:
        model = ChannelSpend
        fields = [
            "id",
            "project",
            "channel",
            "channel_name",
            "month",
            "amount",
            "note",
            "updated_by",
            "updated_at",
        ]
        read_only_fields = fields


class SpendChangeSerializer(serializers.Serializer):
    amount = AmountField(label=gettext_lazy("推广费用（元）"), required=False)
    note = serializers.CharField(
        label=gettext_lazy("说明"), required=False, allow_blank=True, max_length=200
    )


class SpendInputSerializer(serializers.Serializer):
    """Set a channel's spend in a month (a month's spend that exists is changed)."""

    project = serializers.IntegerField(label=gettext_lazy("项目"))
    channel = serializers.IntegerField(label=gettext_lazy("认知途径"))
    month = serializers.CharField(label=gettext_lazy("月份"), help_text="YYYY-MM")
    amount = AmountField(label=gettext_lazy("推广费用（元）"))
    note = serializers.CharField(
        label=gettext_lazy("说明"), required=False, allow_blank=True, default="", max_length=200
    )


class SpendFilterSet(MonthFilterMixin):
    channel = django_filters.NumberFilter(label=gettext_lazy("认知途径"), field_name="channel_id")

    class Meta:
        model = ChannelSpend
        fields = ["project", "year", "month", "channel"]


class ChannelSpendViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RestrictedViewSet):
    """推广费用 per channel and month (``report.view``); writes need ``report.spend``."""

    queryset = ChannelSpend.objects.select_related("channel").order_by(
        "project_id", "month", "channel_id", "pk"
    )
    serializer_class = ChannelSpendSerializer
    filterset_class = SpendFilterSet
    http_method_names = ["get", "post", "put", "patch", "delete", "head", "options"]

    @extend_schema(
        request=SpendInputSerializer,
        responses={201: ChannelSpendSerializer, 200: ChannelSpendSerializer},
    )
    def create(self, request, *args, **kwargs):
        """Set a month's spend of a channel (201; 200 when it existed and was changed)."""
        data = _input(SpendInputSerializer, request)
        project = _project(request, data.pop("project"))
        month = office.parse_month(data.pop("month"))
        existed = ChannelSpend.objects.filter(
            project=project, month=month, channel_id=data["channel"]
        ).exists()
        spend = office.spend_set(actor=request.user, project=project, month=month, **data)
        return Response(
            self.get_serializer(spend).data,
            status=status.HTTP_200_OK if existed else status.HTTP_201_CREATED,
        )

    @extend_schema(request=SpendChangeSerializer, responses=ChannelSpendSerializer)
    def update(self, request, *args, **kwargs):
        """Change the amount or the note."""
        spend = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        data = _input(SpendChangeSerializer, request)
        spend = office.spend_set(
            actor=request.user,
            project=spend.project,
            channel=spend.channel,
            month=spend.month,
            amount=data.get("amount", spend.amount),
            note=data.get("note", spend.note),
        )
        return Response(self.get_serializer(spend).data)

    @extend_schema(request=SpendChangeSerializer, responses=ChannelSpendSerializer)
    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def destroy(self, request, *args, **kwargs):
        spend = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        office.spend_delete(actor=request.user, spend=spend)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- settings ----------------------------------------------------------------------------------


class ReportSettingsSerializer(serializers.ModelSerializer):
    """A project's report settings (the defaults until saved)."""

    project = serializers.IntegerField(source="project_id", read_only=True)
    recipient_list = serializers.SerializerMethodField(label=gettext_lazy("收件人"))
    required_fields = serializers.ListField(
        child=serializers.CharField(), read_only=True, label=gettext_lazy("客户必填项")
    )
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = ReportSettings
        fields = [
            "project",
            "close_time",
            "recipients",
            "recipient_list",
            "entry_days",
            "scan_days",
            "follow_up_days",
            "min_follow_ups",
            "required_fields",
            "updated_at",
        ]
        read_only_fields = fields

    def get_recipient_list(self, obj) -> list[str]:
        return obj.recipient_list()


class ReportSettingsInputSerializer(serializers.Serializer):
    """Any subset of the settings; the others keep their values."""

    close_time = serializers.TimeField(
        label=gettext_lazy("日报截止时间"), required=False, help_text="HH:MM"
    )
    recipients = serializers.CharField(
        label=gettext_lazy("报表收件人"),
        required=False,
        allow_blank=True,
        help_text=gettext_lazy("每行一个电子邮箱"),
    )
    entry_days = serializers.IntegerField(
        label=gettext_lazy("客户录入时限（工作日）"), required=False
    )
    scan_days = serializers.IntegerField(
        label=gettext_lazy("合同扫描件时限（工作日）"), required=False
    )
    follow_up_days = serializers.IntegerField(label=gettext_lazy("跟进周期（天）"), required=False)
    min_follow_ups = serializers.IntegerField(
        label=gettext_lazy("周期内最少跟进次数"), required=False
    )
    required_fields = serializers.ListField(
        child=serializers.CharField(),
        label=gettext_lazy("客户必填项"),
        required=False,
        help_text="、".join(office.REQUIRED_FIELD_KEYS),
    )


PROJECT_ID = OpenApiParameter(
    "project", OpenApiTypes.INT, OpenApiParameter.PATH, description=gettext_lazy("项目 id")
)


class ReportSettingsViewSet(viewsets.GenericViewSet):
    """报表设置 of a project, by the project's id: read with ``report.view``, written with
    ``report.configure`` (a project whose reports the caller does not see is a 404)."""

    queryset = ReportSettings.objects.all()
    serializer_class = ReportSettingsSerializer
    lookup_field = "project"
    lookup_value_regex = ID_PATTERN
    filter_backends: list = []
    pagination_class = None

    def _project(self, project_id) -> Project:
        project = _project(self.request, project_id)
        if not access.has_perm(self.request.user, office.VIEW, project):
            raise DomainError(ErrorCode.NOT_FOUND, _("项目不存在"))
        return project

    @extend_schema(parameters=[PROJECT_ID], responses=ReportSettingsSerializer)
    def retrieve(self, request, project=None):
        return Response(ReportSettingsSerializer(settings_of(self._project(project))).data)

    @extend_schema(
        parameters=[PROJECT_ID],
        request=ReportSettingsInputSerializer,
        responses=ReportSettingsSerializer,
    )
    def update(self, request, project=None):
        found = self._project(project)
        data = _input(ReportSettingsInputSerializer, request)
        row = office.settings_save(actor=request.user, project=found, **data)
        return Response(ReportSettingsSerializer(row).data)

    @extend_schema(
        parameters=[PROJECT_ID],
        request=ReportSettingsInputSerializer,
        responses=ReportSettingsSerializer,
    )
    def partial_update(self, request, project=None):
        return self.update(request, project)


def register(router) -> None:
    """Register this part's viewsets on the API router."""
    router.register("report-targets", TargetViewSet, basename="reporttarget")
    router.register("channel-spends", ChannelSpendViewSet, basename="channelspend")
    router.register("report-settings", ReportSettingsViewSet, basename="reportsettings")
