from django import forms
from django.utils.translation import gettext_lazy as _


class DecideForm(forms.Form):
    reason = forms.CharField(label=_("审批意见"), max_length=300, required=False)
