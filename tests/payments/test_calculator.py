"""The mortgage calculator 房贷计算器 (issue 13 "Mortgages 按揭"): the reference figures to
the fen, the schedule's sums (hypothesis), 0%, combined loans and every refusal with its
field and code. Pure functions: no database."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loupan.core.errors import DomainError
from loupan.core.money import money
from loupan.payments.calculator import Loan, Method, equal_installment_payment, mortgage

D = Decimal
METHODS = [Method.EQUAL_INSTALLMENT, Method.EQUAL_PRINCIPAL]
MILLION = {"principal": "1000000.00", "annual_rate": "4.9"}


def row(period):
    return (period.period, period.payment, period.principal, period.interest, period.balance)


# --- the reference figures ------------------------------------------------------------


def test_equal_installment_reference():
    """1,000,000 over 30 years at 4.9%: 5,307.27 a month (the figure every bank shows)."""
    r = mortgage(method="equal_installment", years=30, commercial=MILLION)
    assert r.monthly_payment == D("5307.27")
    assert len(r.schedule) == 360
    assert row(r.schedule[0]) == (1, D("5307.27"), D("1223.94"), D("4083.33"), D("998776.06"))
    assert row(r.schedule[1]) == (2, D("5307.27"), D("1228.93"), D("4078.34"), D("997547.13"))
    assert all(p.payment == D("5307.27") for p in r.schedule[:-1])
    # the last month pays the balance left and its interest
    assert row(r.schedule[-1]) == (360, D("5305.19"), D("5283.62"), D("21.57"), D("0.00"))
    assert r.total_interest == D("910615.12")
    assert r.total_payment == D("1910615.12")


def test_equal_principal_reference():
    """1,000,000 over 30 years at 4.9%: 6,861.11 in the first month, falling each month."""
    r = mortgage(method="equal_principal", years=30, commercial=MILLION)
    assert r.monthly_payment == D("6861.11")
    assert row(r.schedule[0]) == (1, D("6861.11"), D("2777.78"), D("4083.33"), D("997222.22"))
    assert row(r.schedule[1]) == (2, D("6849.77"), D("2777.78"), D("4071.99"), D("994444.44"))
    assert row(r.schedule[-1]) == (360, D("2788.32"), D("2776.98"), D("11.34"), D("0.00"))
    assert r.last_payment == D("2788.32")
    assert r.total_interest == D("737041.08")
    assert r.total_payment == D("1737041.08")


def test_combined_loan_is_the_sum_of_both_schedules():
    """组合贷: the issue's example (1,000,000 at 4.9% + 600,000 at 2.85%, 30 years)."""
    provident = {"principal": "600000.00", "annual_rate": "2.85"}
    both = mortgage(method="equal_installment", years=30, commercial=MILLION, provident=provident)
    alone = mortgage(method="equal_installment", years=30, provident=provident)
    assert alone.monthly_payment == D("2481.34")
    assert both.monthly_payment == D("7788.61")  # 5,307.27 + 2,481.34
    assert both.principal == D("1600000.00")
    one = mortgage(method="equal_installment", years=30, commercial=MILLION)
    for b, c, p in zip(both.schedule, one.schedule, alone.schedule, strict=True):
        assert b.payment == c.payment + p.payment
        assert b.principal == c.principal + p.principal
        assert b.interest == c.interest + p.interest
        assert b.balance == c.balance + p.balance
    assert both.total_interest == one.total_interest + alone.total_interest
    assert both.schedule[-1].balance == D("0.00")


@pytest.mark.parametrize("method", METHODS)
def test_zero_rate_pays_the_principal_in_equal_parts(method):
    r = mortgage(method=method, years=30, commercial={"principal": "1000000", "annual_rate": "0"})
    assert r.monthly_payment == D("2777.78")  # 1,000,000 / 360
    assert r.total_interest == D("0.00") and r.total_payment == D("1000000.00")
    assert all(p.interest == 0 for p in r.schedule)
    assert r.schedule[-1].payment == D("2776.98")  # 1,000,000 − 359 × 2,777.78
    assert r.schedule[-1].balance == D("0.00")


def test_loan_objects_and_integers_are_accepted():
    by_loan = mortgage(
        method=Method.EQUAL_INSTALLMENT, years=30, commercial=Loan(D("1e6"), D("4.9"))
    )
    by_int = mortgage(
        method="equal_installment",
        years="30",
        commercial={"principal": 1000000, "annual_rate": "4.90"},
    )
    assert by_loan.monthly_payment == by_int.monthly_payment == D("5307.27")
    assert by_loan.method == "equal_installment"


# --- the sums, whatever the loan ----------------------------------------------------------

principals = st.integers(min_value=1, max_value=10_000_000_000).map(lambda fen: D(fen) / 100)
rates = st.integers(min_value=0, max_value=24_000).map(lambda r: D(r) / 1000)
years = st.integers(min_value=1, max_value=30)


def _check_schedule(r, principal, months):
    assert len(r.schedule) == months
    assert [p.period for p in r.schedule] == list(range(1, months + 1))
    assert sum(p.principal for p in r.schedule) == principal  # to the fen, exactly
    assert r.schedule[-1].balance == D("0.00")
    balance = principal
    for p in r.schedule:
        assert p.payment == p.principal + p.interest
        assert p.principal >= 0 and p.interest >= 0
        balance -= p.principal
        assert p.balance == balance >= 0
        for amount in (p.payment, p.principal, p.interest, p.balance):
            assert amount == amount.quantize(D("0.01"))
    assert r.total_interest == sum(p.interest for p in r.schedule)
    assert r.total_payment == sum(p.payment for p in r.schedule) == principal + r.total_interest
    assert r.monthly_payment == r.schedule[0].payment


@settings(max_examples=150, deadline=None)
@given(principal=principals, rate=rates, years=years, method=st.sampled_from(METHODS))
def test_principals_sum_to_the_loan_and_the_balance_ends_at_zero(principal, rate, years, method):
    r = mortgage(
        method=method, years=years, commercial={"principal": principal, "annual_rate": rate}
    )
    _check_schedule(r, principal, years * 12)


@settings(max_examples=60, deadline=None)
@given(
    commercial=principals,
    commercial_rate=rates,
    provident=principals,
    provident_rate=rates,
    years=years,
    method=st.sampled_from(METHODS),
)
def test_combined_loans_sum_to_both_loans(
    commercial, commercial_rate, provident, provident_rate, years, method
):
    r = mortgage(
        method=method,
        years=years,
        commercial={"principal": commercial, "annual_rate": commercial_rate},
        provident={"principal": provident, "annual_rate": provident_rate},
    )
    _check_schedule(r, commercial + provident, years * 12)


@settings(max_examples=150, deadline=None)
@given(principal=principals, rate=rates, years=years)
def test_equal_installment_payment_is_the_formula_to_half_a_fen(principal, rate, years):
    """Against the exact value P·r·(1+r)^n / ((1+r)^n − 1) in rational arithmetic."""
    n = years * 12
    p, r = Fraction(principal), Fraction(rate) / 1200
    exact = p / n if r == 0 else p * r * (1 + r) ** n / ((1 + r) ** n - 1)
    payment = equal_installment_payment(principal, rate, n)
    assert abs(Fraction(payment) - exact) <= Fraction(1, 200)


@settings(max_examples=100, deadline=None)
@given(principal=principals, rate=rates, years=years)
def test_equal_principal_parts_are_p_over_n(principal, rate, years):
    n = years * 12
    r = mortgage(
        method="equal_principal",
        years=years,
        commercial={"principal": principal, "annual_rate": rate},
    )
    part = money(principal / n)
    if part * (n - 1) <= principal:  # not a loan of a few fen repaid early
        assert all(p.principal == part for p in r.schedule[:-1])
    payments = [p.payment for p in r.schedule[:-1]]
    assert payments == sorted(payments, reverse=True)  # falling


# --- refusals -----------------------------------------------------------------------------

OK = {"method": "equal_installment", "years": 30, "commercial": MILLION}


@pytest.mark.parametrize(
    "changes, field, reason",
    [
        ({"years": 0}, "years", "贷款年限须在 1 至 30 年之间"),
        ({"years": 31}, "years", "贷款年限须在 1 至 30 年之间"),
        ({"years": "三十"}, "years", "贷款年限须为整数"),
        ({"years": 2.5}, "years", "贷款年限须为整数"),
        ({"method": "annuity"}, "method", "还款方式须为等额本息或等额本金"),
        ({"commercial": None}, "commercial", "请至少填写商业贷款或公积金贷款中的一项"),
        ({"commercial": "1000000"}, "commercial", "贷款须包含金额和年利率"),
        (
            {"commercial": {"principal": "0", "annual_rate": "4.9"}},
            "commercial.principal",
            "贷款金额须大于 0",
        ),
        (
            {"commercial": {"principal": "-1", "annual_rate": "4.9"}},
            "commercial.principal",
            "贷款金额须大于 0",
        ),
        (
            {"commercial": {"principal": "100000000.01", "annual_rate": "4.9"}},
            "commercial.principal",
            "贷款金额不能超过 100,000,000.00 元",
        ),
        (
            {"commercial": {"principal": "1000.001", "annual_rate": "4.9"}},
            "commercial.principal",
            "贷款金额最多两位小数（精确到分）",
        ),
        (
            {"commercial": {"principal": "NaN", "annual_rate": "4.9"}},
            "commercial.principal",
            "请输入有效的数字",
        ),
        (
            {"commercial": {"principal": "十万", "annual_rate": "4.9"}},
            "commercial.principal",
            "请输入有效的数字",
        ),
        (
            {"commercial": {"principal": "", "annual_rate": "4.9"}},
            "commercial.principal",
            "此项为必填项",
        ),
        (
            {"commercial": {"principal": 1000000.0, "annual_rate": "4.9"}},
            "commercial.principal",
            "数值须以字符串提交（如“4.9”），不接受浮点数",
        ),
        ({"commercial": {"principal": "1000"}}, "commercial.annual_rate", "此项为必填项"),
        (
            {"provident": {"principal": "1000", "annual_rate": "24.01"}},
            "provident.annual_rate",
            "年利率须在 0% 至 24% 之间",
        ),
        (
            {"provident": {"principal": "1000", "annual_rate": "-0.1"}},
            "provident.annual_rate",
            "年利率须在 0% 至 24% 之间",
        ),
        (
            {"provident": {"principal": "1000", "annual_rate": "Infinity"}},
            "provident.annual_rate",
            "请输入有效的数字",
        ),
        (
            {"provident": {"principal": "1000", "annual_rate": "4.12345"}},
            "provident.annual_rate",
            "年利率最多四位小数",
        ),
    ],
)
def test_refusals_name_the_field(changes, field, reason):
    with pytest.raises(DomainError) as exc:
        mortgage(**{**OK, **changes})
    assert exc.value.code == "invalid" and exc.value.status == 400
    assert exc.value.fields == {field: [reason]}
    assert str(exc.value.message) == reason


def test_every_refused_value_is_named_at_once():
    with pytest.raises(DomainError) as exc:
        mortgage(
            method="x",
            years=40,
            commercial={"principal": "0", "annual_rate": "30"},
            provident={"principal": "2", "annual_rate": "2.85"},
        )
    assert set(exc.value.fields) == {
        "method",
        "years",
        "commercial.principal",
        "commercial.annual_rate",
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"years": 1},
        {"years": 30},
        {"commercial": {"principal": "100000000.00", "annual_rate": "24"}},
        {"commercial": {"principal": "0.01", "annual_rate": "0"}},
        {"commercial": {"principal": "1000", "annual_rate": "4.1650"}},
        {"commercial": None, "provident": {"principal": "600000", "annual_rate": "2.85"}},
    ],
)
def test_the_limits_themselves_are_allowed(changes):
    r = mortgage(**{**OK, **changes})
    assert r.schedule[-1].balance == D("0.00")
