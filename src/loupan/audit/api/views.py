from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.response import Response

from loupan.accounts import access
from loupan.audit.filters import AuditFilterSet
from loupan.audit.models import AuditEntry
from loupan.audit.services import verify_chain
from loupan.core.errors import PermissionDenied
from loupan.core.viewsets import ReadOnlyRestrictedViewSet


class AuditEntrySerializer(serializers.ModelSerializer):
    action_display = serializers.CharField(source="get_action_display", read_only=True)

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
        ]

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
