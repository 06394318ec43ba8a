import django_filters
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from loupan.core.filters import YesNoFilter
from loupan.core.forms import DateInput
from loupan.inventory.models import Project

from . import selectors
from .models import Channel, Customer, Grade, Stage

DATE = DateInput()


class CustomerFilterSet(django_filters.FilterSet):
    """One filter set for the customer list (意向客户登记表), its export and
    ``/api/v1/customers/``: name, pinyin initials or phone tail, grade, stage, channel,
    owner and the date of the last follow-up (issue "Customers", search and lists)."""

    q = django_filters.CharFilter(label=_("姓名 / 拼音首字母 / 手机尾号"), method="search")
    grade = django_filters.ChoiceFilter(label=_("等级"), choices=Grade.choices)
    stage = django_filters.ChoiceFilter(label=_("阶段"), choices=Stage.choices)
    channel = django_filters.ModelChoiceFilter(label=_("认知途径"), queryset=Channel.objects.none())
    owner = django_filters.ModelChoiceFilter(
        label=_("置业顾问"), queryset=get_user_model().objects.none()
    )
    followed_after = django_filters.DateFilter(
        label=_("最近跟进不早于"),
        field_name="last_follow_up_at",
        lookup_expr="date__gte",
        widget=DATE,
    )
    followed_before = django_filters.DateFilter(
        label=_("最近跟进早于"), field_name="last_follow_up_at", lookup_expr="date__lt", widget=DATE
    )
    registered_after = django_filters.DateFilter(
        label=_("登记不早于"), field_name="registered_at", lookup_expr="date__gte", widget=DATE
    )
    registered_before = django_filters.DateFilter(
        label=_("登记不晚于"), field_name="registered_at", lookup_expr="date__lte", widget=DATE
    )
    problem = YesNoFilter(label=_("问题客户"), method="has_problem")

    class Meta:
        model = Customer
        fields = [
            "q",
            "grade",
            "stage",
            "channel",
            "owner",
            "followed_after",
            "followed_before",
            "registered_after",
            "registered_before",
            "problem",
        ]

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.all()
        if project is not None:
            projects = Project.objects.filter(pk=project.pk)
        elif self.request is not None:  # the API: channels and staff of the caller's projects
            projects = Project.objects.restrict(self.request.user, "view")
        else:
            projects = Project.objects.none()
        self.filters["channel"].queryset = Channel.objects.filter(project__in=projects)
        self.filters["owner"].queryset = users.filter(memberships__project__in=projects).distinct()

    def search(self, queryset, name, value):
        return selectors.search(queryset, value)

    def has_problem(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.exclude(problem="") if value else queryset.filter(problem="")


class CustomerApiFilterSet(CustomerFilterSet):
    """The API's list also filters by project and by the public pool."""

    project = django_filters.NumberFilter(label=_("项目"), field_name="project_id")
    in_pool = YesNoFilter(label=_("公客池"))

    class Meta(CustomerFilterSet.Meta):
        fields = ["project", "in_pool", *CustomerFilterSet.Meta.fields]
