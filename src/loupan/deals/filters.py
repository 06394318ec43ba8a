import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from loupan.accounts import access
from loupan.core.filters import YesNoFilter
from loupan.core.forms import DateInput
from loupan.inventory.models import Project

from .models import LIVE_STATUSES, Deal, DealBuyer, DealStatus


def deal_search_q(text: str, prefix: str = "deal__") -> Q:
    """Rows of a deal found by its subscription or contract number, its unit, its
    customer or a co-buyer's name (``prefix``: the path from the row to its deal)."""
    deal_id = "pk" if prefix == "" else f"{prefix}id"
    co_buyer = DealBuyer.objects.filter(deal=OuterRef(deal_id), customer__name__icontains=text)
    return (
        Q(**{f"{prefix}number__icontains": text})
        | Q(**{f"{prefix}contract_number__icontains": text})
        | Q(**{f"{prefix}unit__number__icontains": text})
        | Q(**{f"{prefix}customer__name__icontains": text})
        | Exists(co_buyer)
    )


DATE = DateInput()


class DealFilterSet(django_filters.FilterSet):
    """One filter set for the deal lists (全部交易, 未签约客户一览表, 契约签署一览表, 特殊优惠
    客户一览表) and ``/api/v1/deals/``: status, consultant, reservation and signing date
    ranges, and a search by document number, unit number or buyer name (issue Deals,
    "Lists and API")."""

    q = django_filters.CharFilter(label=_("单号 / 房号 / 客户姓名"), method="search")
    status = django_filters.ChoiceFilter(label=_("状态"), choices=DealStatus.choices)
    live = YesNoFilter(label=_("有效交易"), method="only_live")
    consultant = django_filters.ModelChoiceFilter(
        label=_("置业顾问"), queryset=get_user_model().objects.none()
    )
    reserved_after = django_filters.DateFilter(
        label=_("预留不早于"), field_name="reserved_at", lookup_expr="date__gte", widget=DATE
    )
    reserved_before = django_filters.DateFilter(
        label=_("预留不晚于"), field_name="reserved_at", lookup_expr="date__lte", widget=DATE
    )
    signed_after = django_filters.DateFilter(
        label=_("签约不早于"), field_name="signed_on", lookup_expr="gte", widget=DATE
    )
    signed_before = django_filters.DateFilter(
        label=_("签约不晚于"), field_name="signed_on", lookup_expr="lte", widget=DATE
    )

    class Meta:
        model = Deal
        fields = [
            "q",
            "status",
            "live",
            "consultant",
            "reserved_after",
            "reserved_before",
            "signed_after",
            "signed_before",
        ]

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.order_by("real_name", "username")
        if project is not None:
            # the page's choice: who may make a deal there now, and whoever is the
            # consultant of one (a colleague moved on still has their deals); not every
            # member of the project
            ids = set(
                Deal.objects.filter(project=project)
                .order_by()
                .values_list("consultant", flat=True)
                .distinct()
            )
            ids |= set(access.members_with(project, "deal.add").values_list("pk", flat=True))
            self.filters["consultant"].queryset = users.filter(pk__in=ids)
        else:  # the API: any member of the caller's projects (no query until one is asked)
            projects = (
                Project.objects.restrict(self.request.user, "view")
                if self.request is not None
                else Project.objects.none()
            )
            self.filters["consultant"].queryset = users.filter(
                memberships__project__in=projects
            ).distinct()

    def search(self, queryset, name, value):
        """Reservation, subscription or contract number; unit number; the customer's or
        any co-buyer's name (a co-buyer through EXISTS, so no row is repeated)."""
        text = (value or "").strip()
        if not text:
            return queryset
        return queryset.filter(
            deal_search_q(text, prefix="") | Q(reservation_number__icontains=text)
        )

    def only_live(self, queryset, name, value):
        if value is None:
            return queryset
        if value:
            return queryset.filter(status__in=LIVE_STATUSES)
        return queryset.exclude(status__in=LIVE_STATUSES)
