from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from loupan.core.forms import DateInput
from loupan.core.uploads import validate_document

from .models import Building, Layout, Orientation, Phase, PresalePermit, Project, Unit, UnitUse
from .services import (
    BUILDING_FIELDS,
    BULK_FIELDS,
    LAYOUT_FIELDS,
    PERMIT_FIELDS,
    PHASE_FIELDS,
    PROJECT_FIELDS,
    UNIT_FIELDS,
)


class ProjectForm(forms.ModelForm):
    class Meta:
        model = Project
        fields = PROJECT_FIELDS
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, companies=None, **kwargs):
        super().__init__(*args, **kwargs)
        if companies is not None:
            self.fields["company"].queryset = companies

    def _post_clean(self):
        # The service validates and reports field by field.
        pass


class PermitForm(forms.ModelForm):
    class Meta:
        model = PresalePermit
        fields = PERMIT_FIELDS
        widgets = {"issued_on": DateInput()}

    def _post_clean(self):
        pass


class BuildingForm(forms.ModelForm):
    class Meta:
        model = Building
        fields = BUILDING_FIELDS

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["phase"].queryset = Phase.objects.filter(project=project)
        self.fields["permit"].queryset = PresalePermit.objects.filter(project=project)

    def _post_clean(self):
        pass


class LayoutForm(forms.ModelForm):
    class Meta:
        model = Layout
        fields = LAYOUT_FIELDS

    def clean_plan(self):
        plan = self.cleaned_data.get("plan")
        if plan and hasattr(plan, "content_type"):  # a new upload, not the stored file
            validate_document(plan, allowed=("png", "jpg", "jpeg", "webp", "pdf"))
        return plan

    def _post_clean(self):
        pass


class PhaseForm(forms.ModelForm):
    class Meta:
        model = Phase
        fields = PHASE_FIELDS

    def _post_clean(self):
        pass


class UnitForm(forms.ModelForm):
    class Meta:
        model = Unit
        fields = [f for f in UNIT_FIELDS if f != "building"]
        widgets = {"note": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, project=None, show_floor_price=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["layout"].queryset = Layout.objects.filter(project=project)
        self.fields["attached_to"].queryset = Unit.objects.filter(
            project=project, use__in=["residential", "apartment"]
        )
        if not show_floor_price:
            del self.fields["floor_price"]

    def _post_clean(self):
        pass


class GeneratePositionForm(forms.Form):
    """One position (户位) of a typical floor for generating a building's units."""

    layout = forms.ModelChoiceField(label=_("户型"), queryset=Layout.objects.none(), required=False)
    gross_area = forms.DecimalField(
        label=_("建筑面积"), max_digits=10, decimal_places=2, min_value=Decimal("0.01")
    )
    internal_area = forms.DecimalField(
        label=_("套内面积"),
        max_digits=10,
        decimal_places=2,
        required=False,
        min_value=Decimal("0.01"),
    )
    orientation = forms.ChoiceField(
        label=_("朝向"), choices=[("", "—"), *Orientation.choices], required=False
    )
    use = forms.ChoiceField(label=_("用途"), choices=UnitUse.choices, initial=UnitUse.RESIDENTIAL)

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["layout"].queryset = Layout.objects.filter(project=project)


class GenerateForm(forms.Form):
    floor_from = forms.IntegerField(label=_("起始楼层"), initial=1)
    floor_to = forms.IntegerField(label=_("结束楼层"))


class HoldForm(forms.Form):
    reason = forms.CharField(label=_("保留原因"), max_length=200)
    until = forms.DateTimeField(
        label=_("保留至（可空）"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )


class BulkEditForm(forms.Form):
    field = forms.ChoiceField(label=_("字段"), choices=[])
    value = forms.CharField(label=_("新值"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [
            (f, Unit._meta.get_field(f).verbose_name) for f in BULK_FIELDS
        ]


class ReleasePlanForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    release_at = forms.DateTimeField(
        label=_("释放时间"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
