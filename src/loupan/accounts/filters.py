import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loupan.core.filters import YesNoFilter

from .models import Role, User


class UserFilterSet(django_filters.FilterSet):
    """One filter set for the user list page and ``/api/v1/users/``."""

    q = django_filters.CharFilter(label=_("搜索"), method="search")
    role = django_filters.ModelChoiceFilter(
        label=_("角色"), queryset=Role.objects.all(), field_name="memberships__role", distinct=True
    )
    project = django_filters.NumberFilter(
        label=_("项目"), field_name="memberships__project", distinct=True
    )
    is_active = YesNoFilter(label=_("启用"))

    class Meta:
        model = User
        fields = ["q", "role", "project", "is_active"]

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(username__icontains=value)
            | Q(real_name__icontains=value)
            | Q(employee_no__icontains=value)
        )
