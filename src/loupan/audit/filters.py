import django_filters
from django.utils.translation import gettext_lazy as _

from .models import AuditAction, AuditEntry


class AuditFilterSet(django_filters.FilterSet):
    """One filter set for the auditor's page, its export and ``/api/v1/audit-entries/``."""

    actor = django_filters.CharFilter(
        label=_("操作人"), field_name="actor_username", lookup_expr="icontains"
    )
    action = django_filters.ChoiceFilter(label=_("动作"), choices=AuditAction.choices)
    object_type = django_filters.CharFilter(label=_("对象类型"), lookup_expr="iexact")
    object_id = django_filters.CharFilter(label=_("对象编号"))
    project = django_filters.NumberFilter(label=_("项目"), field_name="project_id")
    date_from = django_filters.DateFilter(
        label=_("开始日期"), field_name="created_at", lookup_expr="date__gte"
    )
    date_to = django_filters.DateFilter(
        label=_("结束日期"), field_name="created_at", lookup_expr="date__lte"
    )

    class Meta:
        model = AuditEntry
        fields = ["actor", "action", "object_type", "object_id", "project", "date_from", "date_to"]
