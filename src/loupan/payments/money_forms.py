"""The money pages' forms: they parse; the rules are the services' (a refusal comes back
next to the field it names)."""

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loupan.core.forms import DateInput
from loupan.deals.models import PaymentMethod

from .models import RECEIVED_METHODS, Channel, EntryKind, Method

DATE = DateInput()
METHOD_CHOICES = [(m.value, m.label) for m in RECEIVED_METHODS]


class PaymentForm(forms.Form):
    amount = forms.DecimalField(label=_("金额（元）"), max_digits=14, decimal_places=2)
    item = forms.IntegerField(
        label=_("款项"),
        required=False,
        widget=forms.Select,
        help_text=_("不选则按应付日期先后冲抵"),
    )
    method = forms.ChoiceField(label=_("收款方式"), choices=METHOD_CHOICES)
    paid_on = forms.DateField(label=_("收款日期"), required=False, widget=DATE)
    payer = forms.CharField(label=_("交款人"), max_length=100, required=False)
    bank_reference = forms.CharField(label=_("银行流水号"), max_length=60, required=False)
    late_fee = forms.BooleanField(label=_("收滞纳金"), required=False)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class CollectionForm(forms.Form):
    channel = forms.ChoiceField(label=_("方式"), choices=Channel.choices)
    contact = forms.CharField(label=_("联系对象"), max_length=50)
    note = forms.CharField(
        label=_("沟通内容"), max_length=300, widget=forms.Textarea(attrs={"rows": 2})
    )
    item = forms.IntegerField(label=_("款项"), required=False, widget=forms.Select)
    promised_amount = forms.DecimalField(
        label=_("承诺金额（元）"), max_digits=14, decimal_places=2, required=False
    )
    promised_on = forms.DateField(label=_("承诺付款日期"), required=False, widget=DATE)


class DeferralForm(forms.Form):
    item = forms.IntegerField(label=_("款项"), widget=forms.Select)
    new_due_date = forms.DateField(label=_("延期至"), widget=DATE)
    reason = forms.CharField(label=_("延期原因"), max_length=300)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("原因"), max_length=300)


class InvoiceForm(forms.Form):
    invoice_number = forms.CharField(label=_("发票号码"), max_length=40)
    invoice_date = forms.DateField(label=_("开票日期"), required=False, widget=DATE)


class DaySubmitForm(forms.Form):
    cash_counted = forms.DecimalField(label=_("实点现金（元）"), max_digits=14, decimal_places=2)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class BookForm(forms.Form):
    cashier = forms.ModelChoiceField(label=_("领用人"), queryset=get_user_model().objects.none())
    first_serial = forms.IntegerField(label=_("起始号"), min_value=1)
    last_serial = forms.IntegerField(label=_("终止号"), min_value=1)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class DetailFilterSet(django_filters.FilterSet):
    """客户交款情况明细表's filters: payment method, consultant, overdue only, search."""

    q = django_filters.CharFilter(label=_("单号 / 房号 / 客户姓名"), method="search")
    payment_method = django_filters.ChoiceFilter(label=_("付款方式"), choices=PaymentMethod.choices)
    consultant = django_filters.ModelChoiceFilter(
        label=_("置业顾问"), queryset=get_user_model().objects.none()
    )
    overdue = django_filters.BooleanFilter(label=_("只看逾期"), method="only_overdue")

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        if project is not None:
            self.filters["consultant"].queryset = (
                get_user_model().objects.filter(memberships__project=project).distinct()
            )

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value)
            | Q(contract_number__icontains=value)
            | Q(unit__number__icontains=value)
            | Q(customer__name__icontains=value)
        )

    def only_overdue(self, queryset, name, value):
        return queryset.filter(overdue__gt=0) if value else queryset


class ReceiptFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("收据号 / 交款人 / 房号"), method="search")
    method = django_filters.ChoiceFilter(label=_("收款方式"), choices=Method.choices)
    paid_after = django_filters.DateFilter(
        label=_("收款不早于"), field_name="paid_on", lookup_expr="gte", widget=DATE
    )
    paid_before = django_filters.DateFilter(
        label=_("收款不晚于"), field_name="paid_on", lookup_expr="lte", widget=DATE
    )

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number__icontains=value)
            | Q(payer__icontains=value)
            | Q(deal__unit__number__icontains=value)
            | Q(reference__icontains=value)
            | Q(invoice_number__icontains=value)
        )


class EntryFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(label=_("类型"), choices=EntryKind.choices)
    method = django_filters.ChoiceFilter(label=_("收付方式"), choices=Method.choices)
    paid_after = django_filters.DateFilter(
        label=_("入账不早于"), field_name="paid_on", lookup_expr="gte", widget=DATE
    )
    paid_before = django_filters.DateFilter(
        label=_("入账不晚于"), field_name="paid_on", lookup_expr="lte", widget=DATE
    )


class DayFilterForm(forms.Form):
    day = forms.DateField(label=_("日期"), widget=DATE)
