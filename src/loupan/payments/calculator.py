"""The mortgage calculator 房贷计算器 (issue 13 "Mortgages 按揭"; seeds 001 按揭办理 and 003
按揭协办): the monthly repayment schedule of a commercial loan 商业贷款, a provident-fund
loan 公积金贷款, or both combined 组合贷 (the two schedules summed period by period), by
equal instalments 等额本息 or equal principal 等额本金.

Pure functions on ``Decimal`` (no float near money, ENGINEERING.md): the monthly rate is
the annual percentage / 100 / 12; every amount of the schedule is rounded once to the fen
by ``core.money.money`` (ROUND_HALF_UP), as a bank's schedule shows it, and the last
period pays what is left, so that the principals sum to the loan to the fen and the
balance ends at 0.00.

* 等额本息: payment = P·r·(1+r)^n / ((1+r)^n − 1), rounded to the fen; each period's
  interest = balance·r, principal = payment − interest. 1,000,000 over 30 years at 4.9%:
  5,307.27 a month.
* 等额本金: principal = P / n, rounded to the fen; interest = balance·r; the payment falls
  each month. 1,000,000 over 30 years at 4.9%: 6,861.11 in the first month.

Limits (refused through ``core.errors`` with the field's path and a Chinese reason): a
term of 1 to 30 years (the longest mainland banks lend for a home), a loan above 0 and at
most 100,000,000.00 yuan, an annual rate from 0 to 24% (a bound far above any home
loan: the ceiling of protected private-lending interest in the Supreme People's Court's
2015 rules on private lending).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext

from django.db import models
from django.utils.translation import gettext_lazy as _

from loupan.core.errors import DomainError, ErrorCode
from loupan.core.money import ZERO, money, to_decimal

MIN_YEARS, MAX_YEARS = 1, 30
MAX_PRINCIPAL = Decimal("100000000.00")
MAX_RATE = Decimal("24")
RATE_PLACES = 4  # 4.9, 3.575, 4.1650: a rate in percent with at most four decimals
PRECISION = 34  # significant digits of the intermediate arithmetic (IEEE decimal128)


class Method(models.TextChoices):
    """How the loan is repaid."""

    EQUAL_INSTALLMENT = "equal_installment", _("等额本息")
    EQUAL_PRINCIPAL = "equal_principal", _("等额本金")


class LoanKind(models.TextChoices):
    """The two loans a buyer may take, alone or combined (组合贷)."""

    COMMERCIAL = "commercial", _("商业贷款")
    PROVIDENT = "provident", _("公积金贷款")


@dataclass(frozen=True)
class Loan:
    """One loan: the amount in yuan and the annual rate in percent (4.9 = 4.9%)."""

    principal: Decimal
    annual_rate: Decimal


@dataclass(frozen=True)
class Period:
    """One month of the schedule; ``balance`` is what remains owed after it."""

    period: int
    payment: Decimal
    principal: Decimal
    interest: Decimal
    balance: Decimal


@dataclass(frozen=True)
class Repayment:
    """The whole schedule: ``monthly_payment`` is the first month's (constant but for the
    last month by equal instalments, falling by equal principal)."""

    method: str
    years: int
    principal: Decimal
    monthly_payment: Decimal
    total_payment: Decimal
    total_interest: Decimal
    schedule: list[Period]

    @property
    def months(self) -> int:
        return len(self.schedule)

    @property
    def last_payment(self) -> Decimal:
        return self.schedule[-1].payment

    @property
    def method_label(self) -> str:
        return Method(self.method).label


# --- the schedule of one loan -------------------------------------------------------------


def monthly_rate(annual_rate: Decimal) -> Decimal:
    """The monthly rate of an annual rate in percent: annual / 100 / 12."""
    return annual_rate / 100 / 12


def equal_installment_payment(principal: Decimal, annual_rate: Decimal, months: int) -> Decimal:
    """The constant monthly payment of 等额本息, rounded to the fen:
    P·r·(1+r)^n / ((1+r)^n − 1), or P / n at a rate of 0."""
    with localcontext(prec=PRECISION):
        r = monthly_rate(annual_rate)
        if r == 0:
            return money(principal / months)
        growth = (1 + r) ** months
        return money(principal * r * growth / (growth - 1))


def loan_schedule(loan: Loan, method: str, months: int) -> list[Period]:
    """The schedule of one loan, rounded to the fen period by period.

    Each period's interest is the balance times the monthly rate, rounded; the principal
    is the payment less the interest (等额本息) or P / n rounded (等额本金), never more
    than the balance; the last period pays the balance left, so the principals sum to
    the loan exactly. (The never-more-than-the-balance guard only matters for a loan of a
    few fen over many months, whose rounded instalments would repay it early.)"""
    with localcontext(prec=PRECISION):
        r = monthly_rate(loan.annual_rate)
        if method == Method.EQUAL_INSTALLMENT:
            payment = equal_installment_payment(loan.principal, loan.annual_rate, months)
        else:
            part = money(loan.principal / months)
        balance = loan.principal
        rows = []
        for period in range(1, months + 1):
            interest = money(balance * r)
            if period == months:
                principal = balance
            elif method == Method.EQUAL_INSTALLMENT:
                principal = min(max(payment - interest, ZERO), balance)
            else:
                principal = min(part, balance)
            balance -= principal
            rows.append(Period(period, principal + interest, principal, interest, balance))
        return rows


def combine(*schedules: list[Period]) -> list[Period]:
    """组合贷: the schedules of the loans summed period by period (same term)."""
    return [
        Period(
            rows[0].period,
            sum((p.payment for p in rows), ZERO),
            sum((p.principal for p in rows), ZERO),
            sum((p.interest for p in rows), ZERO),
            sum((p.balance for p in rows), ZERO),
        )
        for rows in zip(*schedules, strict=True)
    ]


# --- the calculator ---------------------------------------------------------------------


def mortgage(*, method, years, commercial=None, provident=None) -> Repayment:
    """The repayment of a commercial loan, a provident-fund loan or both (组合贷) over
    ``years`` by ``method`` (``Method``). A loan is a ``Loan`` or a mapping with
    ``principal`` and ``annual_rate`` (Decimal, int or text; never float), ``None`` when
    not taken. Every refused value is named by its path (``years``,
    ``commercial.principal``, ``provident.annual_rate``…) in one ``invalid`` error."""
    method, years, loans = _validated(
        method, years, {"commercial": commercial, "provident": provident}
    )
    months = years * 12
    schedule = combine(*(loan_schedule(loan, method, months) for loan in loans))
    principal = sum((loan.principal for loan in loans), ZERO)
    total_interest = sum((p.interest for p in schedule), ZERO)
    return Repayment(
        method=method,
        years=years,
        principal=principal,
        monthly_payment=schedule[0].payment,
        total_payment=principal + total_interest,
        total_interest=total_interest,
        schedule=schedule,
    )


def _validated(method, years, loans: dict) -> tuple[str, int, list[Loan]]:
    errors: dict[str, str] = {}
    if method not in Method.values:
        errors["method"] = _("还款方式须为等额本息或等额本金")
    if isinstance(years, bool) or not isinstance(years, int):
        try:
            years = int(str(years).strip())
        except (TypeError, ValueError):
            years = None
    if years is None:
        errors["years"] = _("贷款年限须为整数")
    elif not MIN_YEARS <= years <= MAX_YEARS:
        errors["years"] = _("贷款年限须在 1 至 30 年之间")
    taken = []
    for kind, loan in loans.items():
        if loan is None:
            continue
        if isinstance(loan, Loan):
            loan = {"principal": loan.principal, "annual_rate": loan.annual_rate}
        if not isinstance(loan, Mapping):
            errors[kind] = _("贷款须包含金额和年利率")
            continue
        principal = _number(loan.get("principal"), f"{kind}.principal", errors)
        if principal is not None:
            if principal <= 0:
                errors[f"{kind}.principal"] = _("贷款金额须大于 0")
            elif principal > MAX_PRINCIPAL:
                errors[f"{kind}.principal"] = _("贷款金额不能超过 100,000,000.00 元")
            elif principal != money(principal):
                errors[f"{kind}.principal"] = _("贷款金额最多两位小数（精确到分）")
        rate = _number(loan.get("annual_rate"), f"{kind}.annual_rate", errors)
        if rate is not None:
            if not 0 <= rate <= MAX_RATE:
                errors[f"{kind}.annual_rate"] = _("年利率须在 0% 至 24% 之间")
            elif rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES)):
                errors[f"{kind}.annual_rate"] = _("年利率最多四位小数")
        if principal is not None and rate is not None:
            taken.append(Loan(principal, rate))
    if not any(loan is not None for loan in loans.values()):
        errors["commercial"] = _("请至少填写商业贷款或公积金贷款中的一项")
    if errors:
        first = next(iter(errors.values()))
        raise DomainError(ErrorCode.INVALID, first, {k: [v] for k, v in errors.items()})
    return Method(method).value, years, taken


def _number(value, field: str, errors: dict) -> Decimal | None:
    """A finite Decimal from text, int or Decimal; a missing value, a float or anything
    else is an error on ``field``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        errors[field] = _("此项为必填项")
        return None
    if isinstance(value, float | bool):
        errors[field] = _("数值须以字符串提交（如“4.9”），不接受浮点数")
        return None
    try:
        number = to_decimal(value)
    except (TypeError, ValueError, InvalidOperation):
        number = None
    if number is None or not number.is_finite():
        errors[field] = _("请输入有效的数字")
        return None
    return number
