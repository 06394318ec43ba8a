"""The calculator page's form. It only parses; the limits are the calculator's."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .calculator import MAX_YEARS, MIN_YEARS, LoanKind, Method


class MortgageForm(forms.Form):
    method = forms.ChoiceField(
        label=_("还款方式"),
        choices=Method.choices,
        initial=Method.EQUAL_INSTALLMENT,
        widget=forms.RadioSelect,
    )
    years = forms.IntegerField(label=_("贷款年限（年）"), initial=MAX_YEARS)
    commercial_principal = forms.DecimalField(label=_("商业贷款金额（元）"), required=False)
    commercial_rate = forms.DecimalField(label=_("商业贷款年利率（%）"), required=False)
    provident_principal = forms.DecimalField(label=_("公积金贷款金额（元）"), required=False)
    provident_rate = forms.DecimalField(label=_("公积金贷款年利率（%）"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["years"].widget.attrs.update(min=MIN_YEARS, max=MAX_YEARS)
        for name in ("commercial_principal", "provident_principal"):
            self.fields[name].widget.attrs.update(min="0", step="0.01", inputmode="decimal")
        for name in ("commercial_rate", "provident_rate"):
            self.fields[name].widget.attrs.update(min="0", step="0.0001", inputmode="decimal")

    def loans(self) -> dict:
        """``{"commercial": {...} | None, "provident": …}`` for ``calculator.mortgage``: a
        loan is taken when its amount or its rate is filled in."""
        data = self.cleaned_data
        loans = {}
        for kind in LoanKind.values:
            principal, rate = data.get(f"{kind}_principal"), data.get(f"{kind}_rate")
            taken = principal is not None or rate is not None
            loans[kind] = {"principal": principal, "annual_rate": rate} if taken else None
        return loans

    def field_of(self, path: str) -> str:
        """The form field of a calculator error's path (``commercial.annual_rate`` →
        ``commercial_rate``; "no loan at all", on ``commercial``, goes to its amount)."""
        if path in LoanKind.values:
            return f"{path}_principal"
        return path.replace(".annual_rate", "_rate").replace(".", "_")
