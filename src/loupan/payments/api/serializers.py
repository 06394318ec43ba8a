"""The mortgage calculator's request and response (``POST /api/v1/calculators/mortgage/``).

The serializers only parse; the limits (term, amount, rate) are the calculator's
(``payments.calculator``), so the page and the API refuse the same values with the same
reasons. Money and rates travel as strings: a JSON float anywhere in the body is refused
(``NoFloatsMixin``), since its value is already inexact by the time it is parsed.
"""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from loupan.core.errors import DomainError, ErrorCode
from loupan.payments.calculator import Method

MONEY = {"max_digits": 14, "decimal_places": 2}
FLOAT_REFUSED = _("数值须以字符串提交（如“4.9”），不接受浮点数")


def float_paths(value, path: str = ""):
    """The paths (``commercial.principal``, ``items[0].amount``) of the floats in parsed
    JSON."""
    if isinstance(value, float):
        yield path or "non_field_errors"
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from float_paths(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from float_paths(item, f"{path}[{index}]")


class NoFloatsMixin:
    """Refuse a body that carries a JSON float (money is never a float), naming each by
    its path, before any field parses it (DRF's DecimalField would take ``4.9`` as the
    float's text)."""

    def run_validation(self, data=serializers.empty):
        paths = list(float_paths(data)) if data is not serializers.empty else []
        if paths:
            raise DomainError(ErrorCode.INVALID, FLOAT_REFUSED, dict.fromkeys(paths, FLOAT_REFUSED))
        return super().run_validation(data)


class LoanSerializer(serializers.Serializer):
    principal = serializers.DecimalField(
        **MONEY, label=_("贷款金额"), help_text=_("元，精确到分，如“1000000.00”")
    )
    annual_rate = serializers.DecimalField(
        max_digits=7, decimal_places=4, label=_("年利率"), help_text=_("百分数，如“4.9”即 4.9%")
    )


class MortgageSerializer(NoFloatsMixin, serializers.Serializer):
    """A calculation: the term, the method and one or both loans (组合贷)."""

    method = serializers.ChoiceField(choices=Method.choices, label=_("还款方式"))
    years = serializers.IntegerField(label=_("贷款年限"), help_text=_("1 至 30 年"))
    commercial = LoanSerializer(
        required=False, allow_null=True, label=_("商业贷款"), help_text=_("不贷可省略")
    )
    provident = LoanSerializer(
        required=False, allow_null=True, label=_("公积金贷款"), help_text=_("不贷可省略")
    )


class MortgagePeriodSerializer(serializers.Serializer):
    period = serializers.IntegerField(label=_("期数"))
    payment = serializers.DecimalField(**MONEY, label=_("月供"))
    principal = serializers.DecimalField(**MONEY, label=_("本金"))
    interest = serializers.DecimalField(**MONEY, label=_("利息"))
    balance = serializers.DecimalField(**MONEY, label=_("剩余本金"))


class MortgageResultSerializer(serializers.Serializer):
    monthly_payment = serializers.DecimalField(
        **MONEY, label=_("月供"), help_text=_("首月月供（等额本金逐月递减）")
    )
    total_payment = serializers.DecimalField(**MONEY, label=_("还款总额"))
    total_interest = serializers.DecimalField(**MONEY, label=_("支付利息"))
    schedule = MortgagePeriodSerializer(many=True, label=_("还款计划"))
