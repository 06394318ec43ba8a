from django import forms

from .models import PresalePermit, Project
from .services import PERMIT_FIELDS, PROJECT_FIELDS


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
        widgets = {"issued_on": forms.DateInput(attrs={"type": "date"})}

    def _post_clean(self):
        pass
