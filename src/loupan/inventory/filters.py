import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from loupan.core.filters import YesNoFilter

from .models import Building, Layout, Orientation, Unit, UnitStatus, UnitUse


class UnitFilterSet(django_filters.FilterSet):
    """One filter set for the unit list, the board, the export and ``/api/v1/units/``
    (status, layout, area band, floor band and price band: seed 002 二.1(2))."""

    building = django_filters.ModelChoiceFilter(label=_("楼栋"), queryset=Building.objects.none())
    status = django_filters.MultipleChoiceFilter(
        label=_("状态"), choices=UnitStatus.choices, widget=forms.SelectMultiple(attrs={"size": 3})
    )
    layout = django_filters.ModelChoiceFilter(label=_("户型"), queryset=Layout.objects.none())
    use = django_filters.ChoiceFilter(label=_("用途"), choices=UnitUse.choices)
    orientation = django_filters.ChoiceFilter(label=_("朝向"), choices=Orientation.choices)
    area_min = django_filters.NumberFilter(
        label=_("面积≥"), field_name="gross_area", lookup_expr="gte"
    )
    area_max = django_filters.NumberFilter(
        label=_("面积≤"), field_name="gross_area", lookup_expr="lte"
    )
    floor_min = django_filters.NumberFilter(label=_("楼层≥"), field_name="floor", lookup_expr="gte")
    floor_max = django_filters.NumberFilter(label=_("楼层≤"), field_name="floor", lookup_expr="lte")
    price_min = django_filters.NumberFilter(
        label=_("表价≥（元）"), field_name="list_price", lookup_expr="gte"
    )
    price_max = django_filters.NumberFilter(
        label=_("表价≤（元）"), field_name="list_price", lookup_expr="lte"
    )
    number = django_filters.CharFilter(
        label=_("房号"), field_name="number", lookup_expr="icontains"
    )
    sellable = YesNoFilter(label=_("可售"))

    class Meta:
        model = Unit
        fields = [
            "building",
            "status",
            "layout",
            "use",
            "orientation",
            "area_min",
            "area_max",
            "floor_min",
            "floor_max",
            "price_min",
            "price_max",
            "number",
            "sellable",
        ]

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        if project is not None:
            self.filters["building"].queryset = Building.objects.filter(project=project)
            self.filters["layout"].queryset = Layout.objects.filter(project=project)
        elif self.request is not None:  # the API: any building or layout the caller may see
            self.filters["building"].queryset = Building.objects.restrict(self.request.user, "view")
            self.filters["layout"].queryset = Layout.objects.restrict(self.request.user, "view")

    def is_filtering(self) -> bool:
        """True when a filter other than the building narrows the units."""
        if not self.is_bound or not self.form.is_valid():
            return False
        return any(
            v not in (None, "", []) for k, v in self.form.cleaned_data.items() if k != "building"
        )
