"""Deal forms. They only parse what the user typed; every rule (shares summing to 100%,
the deposit cap, discount authority, who may do what) is the services' job, and their
refusals come back next to the field named here (``core.views.form_error``)."""

from decimal import Decimal

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loupan.core import codelists
from loupan.core.forms import DateInput, OpenChoiceField
from loupan.customers.models import Customer

from .models import (
    ChangeKind,
    DealPolicy,
    DepositTreatment,
    DiscountKind,
    DiscountType,
    DisputeStatus,
    FilingStatus,
    PaymentMethod,
    TemplateKind,
)

DATE = DateInput()
MONEY = {"max_digits": 14, "decimal_places": 2}
CO_BUYER_ROWS = 3


class ErrorSlot(forms.CharField):
    """A hidden field that only carries a service's reasons for a group of inputs
    (``buyers``, ``discounts``) so that they show next to that group."""

    def __init__(self, **kwargs):
        super().__init__(required=False, widget=forms.HiddenInput, **kwargs)


class ReserveForm(forms.Form):
    """保留单: the customer (one of the consultant's own) and an optional note."""

    customer = forms.ModelChoiceField(
        label=_("客户"),
        queryset=Customer.objects.none(),
        error_messages={"required": _("请选择客户"), "invalid_choice": _("请选择您的客户")},
    )
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args, customers=None, **kwargs):
        super().__init__(*args, **kwargs)
        if customers is not None:
            self.fields["customer"].queryset = customers


def buyer_row(form, i: int, label, customers, labels) -> tuple:
    """Add the ``buyer_<i>`` / ``share_<i>`` pair: a customer validated against every
    customer the user may see but offered from a short list (a project can hold a
    million customers), and their ownership share."""
    buyer = forms.ModelChoiceField(
        label=label,
        queryset=customers,
        required=False,
        error_messages={"invalid_choice": _("请选择本项目的客户")},
    )
    buyer.widget.choices = labels
    form.fields[f"buyer_{i}"] = buyer
    form.fields[f"share_{i}"] = forms.DecimalField(
        label=_("产权份额（%）"), required=False, max_digits=5, decimal_places=2
    )
    return form[f"buyer_{i}"], form[f"share_{i}"]


def buyer_labels(suggestions) -> list:
    return [("", "—")] + [(c.pk, f"{c.name}（{c.phone_tail}）") for c in suggestions]


class SubscribeForm(forms.Form):
    """认购: buyers and shares (the deal's customer first, then up to three co-buyers
    chosen among the project's customers the user may see), the discounts of the
    project (a value for the variable ones, 特批), payment method, deposit, down payment
    and the reason when the discount needs approval."""

    buyers = ErrorSlot()
    share_0 = forms.DecimalField(label=_("产权份额（%）"), max_digits=5, decimal_places=2)
    discounts = ErrorSlot()
    payment_method = forms.ChoiceField(
        label=_("付款方式"), choices=[("", "—"), *PaymentMethod.choices]
    )
    deposit = forms.DecimalField(label=_("定金（元）"), **MONEY)
    down_payment = forms.DecimalField(label=_("首付款（元）"), required=False, **MONEY)
    reason = forms.CharField(
        label=_("申请理由（需要审批时）"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, deal, customers, suggestions=(), discount_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.deal = deal
        self.fields["payment_method"].required = False  # the service names what is missing
        labels = buyer_labels(suggestions)
        self.co_rows = [
            buyer_row(self, i, _("共同买受人 %(n)s") % {"n": i}, customers, labels)
            for i in range(1, CO_BUYER_ROWS + 1)
        ]
        self.discount_types = list(discount_types)
        self.discount_rows = []
        for t in self.discount_types:
            self.fields[f"discount_{t.pk}"] = forms.BooleanField(label=t.name, required=False)
            value = None
            if t.variable:
                self.fields[f"discount_{t.pk}_value"] = forms.DecimalField(
                    label=_("折扣值（%）")
                    if t.kind == DiscountKind.PERCENT
                    else _("减免金额（元）"),
                    required=False,
                    **MONEY,
                )
                value = self[f"discount_{t.pk}_value"]
            self.discount_rows.append((t, self[f"discount_{t.pk}"], value))

    def buyer_list(self) -> list:
        data = self.cleaned_data
        rows = [(self.deal.customer, data.get("share_0"))]
        for i in range(1, CO_BUYER_ROWS + 1):
            if data.get(f"buyer_{i}") is not None:
                rows.append((data[f"buyer_{i}"], data.get(f"share_{i}") or Decimal("0")))
        return rows

    def discount_list(self) -> list:
        data = self.cleaned_data
        return [
            (t, data.get(f"discount_{t.pk}_value") if t.variable else None)
            for t in self.discount_types
            if data.get(f"discount_{t.pk}")
        ]


class ReleaseForm(forms.Form):
    reason = forms.CharField(label=_("撤销原因"), max_length=200, required=False)


class ClauseForm(forms.Form):
    text = forms.CharField(
        label=_("特殊条款"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class ContractForm(forms.Form):
    """签约: the terms come from the subscription; the page asks only what is new."""

    contract_number = forms.CharField(
        label=_("合同编号"),
        max_length=40,
        required=False,
        help_text=_("留空则按本项目顺序自动编号"),
    )
    signed_on = forms.DateField(label=_("签约日期"), widget=DATE, initial=timezone.localdate)
    delivery_date = forms.DateField(label=_("交付日期"), widget=DATE, required=False)
    filing_status = forms.ChoiceField(
        label=_("网签备案"), choices=FilingStatus.choices, initial=FilingStatus.NONE
    )
    filing_number = forms.CharField(label=_("网签备案号"), max_length=50, required=False)


class FilingForm(forms.Form):
    filing_status = forms.ChoiceField(label=_("网签备案"), choices=FilingStatus.choices)
    filing_number = forms.CharField(label=_("网签备案号"), max_length=50, required=False)


class ScanForm(forms.Form):
    contract_scan = forms.FileField(
        label=_("合同扫描件（PDF 或图片）"),
        error_messages={"required": _("请选择文件")},
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,.webp"}),
    )


# --- changes after subscription -----------------------------------------------------------

REASON = forms.CharField(
    label=_("申请理由"), max_length=300, required=False, widget=forms.Textarea(attrs={"rows": 2})
)


class ExchangeForm(forms.Form):
    """换房: the new unit by its number (as on the board) and the reason."""

    unit = forms.CharField(label=_("换入房号"), max_length=50, required=False)
    reason = REASON


class RenameForm(forms.Form):
    """更名 / co-buyers: up to four buyers with their shares, the current ones first."""

    buyers = ErrorSlot()
    reason = REASON
    ROWS = CO_BUYER_ROWS + 1

    def __init__(self, *args, customers, suggestions=(), **kwargs):
        super().__init__(*args, **kwargs)
        labels = buyer_labels(suggestions)
        self.rows = [
            buyer_row(self, i, _("买受人 %(n)s") % {"n": i + 1}, customers, labels)
            for i in range(self.ROWS)
        ]
        self.order_fields(
            [
                "buyers",
                *[f for i in range(self.ROWS) for f in (f"buyer_{i}", f"share_{i}")],
                "reason",
            ]
        )

    def buyer_list(self) -> list:
        data = self.cleaned_data
        return [
            (data[f"buyer_{i}"], data.get(f"share_{i}") or Decimal("0"))
            for i in range(self.ROWS)
            if data.get(f"buyer_{i}") is not None
        ]


class CancelForm(forms.Form):
    """退房: the reason (list and words), the deposit treatment, the originals back."""

    cancel_reason = OpenChoiceField(label=_("退房原因"), choices=(), required=False)
    detail = forms.CharField(
        label=_("原因说明"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    deposit_treatment = forms.ChoiceField(
        label=_("定金处理"), choices=[("", "—"), *DepositTreatment.choices], required=False
    )
    forfeited = forms.DecimalField(label=_("扣除定金（元，部分扣除时）"), required=False, **MONEY)

    def __init__(self, *args, project, **kwargs):
        super().__init__(*args, **kwargs)
        # the office's active reasons; another is refused by the service, by name
        self.fields["cancel_reason"].choices = codelists.choices(
            "cancel_reason", project, blank=True
        )

    originals_returned = forms.BooleanField(label=_("认购书、合同原件已收回存档"), required=False)


class DisputeForm(forms.Form):
    dispute = forms.ChoiceField(label=_("争议"), choices=DisputeStatus.choices)
    dispute_note = forms.CharField(
        label=_("争议说明（机构、案号、进展）"), max_length=300, required=False
    )


class ChangeFilterForm(forms.Form):
    """客户换房、退房一览表: kind and period."""

    kind = forms.ChoiceField(
        label=_("类型"), choices=[("", _("换房与退房")), *ChangeKind.choices], required=False
    )
    start = forms.DateField(label=_("自"), widget=DATE, required=False)
    end = forms.DateField(label=_("至"), widget=DATE, required=False)


class DecideForm(forms.Form):
    reason = forms.CharField(label=_("审批意见"), max_length=300, required=False)


# --- settings ---------------------------------------------------------------------------


class PolicyForm(forms.ModelForm):
    """Parsed here, checked by ``settings_services.deal_policy_update``."""

    class Meta:
        model = DealPolicy
        fields = ["reservation_hours", "signing_days", "deposit_max_pct"]


class AuthorityForm(forms.Form):
    """One percentage per level of the approval chain."""

    def __init__(self, *args, levels=(), **kwargs):
        super().__init__(*args, **kwargs)
        for code, label, value in levels:
            self.fields[code] = forms.DecimalField(
                label=label, initial=value, max_digits=5, decimal_places=2
            )


class DiscountTypeForm(forms.ModelForm):
    class Meta:
        model = DiscountType
        fields = ["name", "kind", "value", "sort_order", "variable"]
        help_texts = {
            "value": _("折扣（%）填百分比，如 1 表示 1%；减免金额填元"),
            "variable": _("如「特批」：由申请人在认购时填写，始终按审批规则处理"),
            "sort_order": _("多个折扣按顺序依次计算"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # the service names what is missing; an empty order means first
        for name in ("name", "value", "sort_order"):
            self.fields[name].required = False

    def validate_unique(self):
        """Uniqueness of the name is the service's (with its Chinese reason)."""


# --- the contract's documents (contracts.py) ----------------------------------------------


class TemplateForm(forms.Form):
    """A new version of a contract or supplement template (.docx)."""

    kind = forms.ChoiceField(label=_("模板类型"), choices=TemplateKind.choices)
    name = forms.CharField(label=_("模板名称"), max_length=100)
    file = forms.FileField(
        label=_("模板文件（.docx）"),
        error_messages={"required": _("请选择要上传的 .docx 文件")},
        widget=forms.ClearableFileInput(attrs={"accept": ".docx"}),
    )
    activate = forms.BooleanField(label=_("上传后启用"), required=False, initial=True)


class SupplementForm(forms.Form):
    """A supplementary agreement: the signed file, or the terms to generate it from the
    project's supplement template; optionally replacing a current one."""

    title = forms.CharField(label=_("协议名称"), max_length=100)
    file = forms.FileField(
        label=_("协议文件（PDF、图片或 .docx）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg,.docx"}),
    )
    text = forms.CharField(
        label=_("条款内容（不上传文件时按模板生成）"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    replaces = forms.TypedChoiceField(label=_("替代"), required=False, coerce=int, empty_value=None)
    note = forms.CharField(label=_("说明"), max_length=300, required=False)

    def __init__(self, *args, current=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["replaces"].choices = [("", _("（新增，不替代）"))] + [
            (s.pk, f"{s.number} {s.title}") for s in current
        ]
