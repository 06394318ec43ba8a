from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.accounts import access
from loupan.audit.filters import AuditFilterSet
from loupan.audit.models import AuditEntry
from loupan.audit.presenting import present
from loupan.audit.services import verify_chain
from loupan.core.errors import PermissionDenied
from loupan.core.viewsets import ReadOnlyRestrictedViewSet


class ValueSerializer(serializers.Serializer):
    text = serializers.CharField()
    url = serializers.CharField(help_text="该对象的页面（对象已删除或没有页面时为空）")


class ChangeSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="存储的字段名")
    label = serializers.CharField()
    before = ValueSerializer(allow_null=True, help_text="只记一个值时为 null")
    after = ValueSerializer()


class FilterLineSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    value = ValueSerializer()


class ExtraLineSerializer(FilterLineSerializer):
    value = ValueSerializer(allow_null=True, help_text="导出的筛选条件时为 null，见 lines")
    lines = FilterLineSerializer(many=True)


class ShownSerializer(serializers.Serializer):
    """The entry as the pages show it (``audit.presenting``): labels, names, links,
    local time; the raw stored values stay beside it."""

    at = serializers.DateTimeField(help_text="本地时间（TIME_ZONE）")
    kind = serializers.CharField(help_text="对象类型的名称")
    object = ValueSerializer(allow_null=True)
    changes = ChangeSerializer(many=True)
    extra = ExtraLineSerializer(many=True)


class AuditEntrySerializer(serializers.ModelSerializer):
    action_display = serializers.CharField(source="get_action_display", read_only=True)
    display = serializers.SerializerMethodField()

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "created_at",
            "actor",
            "actor_username",
            "ip",
            "project",
            "action",
            "action_display",
            "object_type",
            "object_id",
            "object_repr",
            "changes",
            "extra",
            "prev_hash",
            "hash",
            "display",
        ]

    @extend_schema_field(ShownSerializer)
    def get_display(self, instance):
        shown = getattr(instance, "_shown", None)
        if shown is None:  # not presented with its page: on its own
            [shown] = present([instance], self.context["request"].user)
        return ShownSerializer(shown).data

    def to_representation(self, instance):
        return super().to_representation(instance.hide_for(self.context["request"].user))


class VerifySerializer(serializers.Serializer):
    intact = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_broken_id = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()


class AuditEntryViewSet(ReadOnlyRestrictedViewSet):
    """The audit trail (read-only, append-only), for auditors."""

    queryset = AuditEntry.objects.order_by("-id")
    serializer_class = AuditEntrySerializer
    filterset_class = AuditFilterSet

    def get_serializer(self, *args, **kwargs):
        """The page's entries are presented together (one query per model, not per
        entry) before each is serialized."""
        if args and not kwargs.get("data"):
            items = list(args[0]) if kwargs.get("many") else [args[0]]
            for shown in present(items, self.request.user):
                shown.entry._shown = shown
        return super().get_serializer(*args, **kwargs)

    @extend_schema(responses=VerifySerializer)
    @action(detail=False, methods=["get"])
    def verify(self, request):

        if not access.has_perm(request.user, "audit.view"):
            raise PermissionDenied()
        checked, broken, reason = verify_chain()
        return Response(
            {
                "intact": broken is None,
                "checked": checked,
                "first_broken_id": broken,
                "reason": reason,
            }
        )
