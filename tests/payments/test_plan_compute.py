"""The purchase plan 置业计划 computation (``payments.plans.purchase_plan``): the price
through the deals quote, the down payment against the project minimum, the loan and both
monthly payments, the fees from the bands of the fee table (140.00㎡ in the ≤140 band),
"未设置" for a fee no row covers, all to the fen and computed by hand."""

from decimal import Decimal

import pytest

from loupan.core.errors import DomainError
from loupan.deals.models import DiscountType
from loupan.inventory.models import Unit
from loupan.payments import plans
from loupan.payments.models import FeeRate, PaymentSettings

pytestmark = pytest.mark.django_db


def unit_of(project, gross="118.52", list_price="1993456.78"):
    """A demo home on sale, with a list price we know (and its gross area set)."""
    unit = (
        Unit.objects.open_for_sale()
        .filter(project=project, use="residential", gross_area=Decimal("118.52"))
        .order_by("pk")
        .first()
    )
    Unit.objects.filter(pk=unit.pk).update(
        list_price=Decimal(list_price), gross_area=Decimal(gross)
    )
    unit.refresh_from_db()
    return unit


def discount(project, name):
    return DiscountType.objects.get(project=project, name=name)


def plan(demo, unit=None, **kwargs):
    main = demo["main"]
    args = {
        "method": "commercial",
        "home": "first",
        "down_payment_pct": "30",
        "years": 30,
        "commercial_rate": "3.5",
        "provident_rate": "2.6",
    }
    args.update(kwargs)
    return plans.purchase_plan(project=main, unit=unit or unit_of(main), **args)


def test_commercial_plan_to_the_fen(demo):
    main = demo["main"]
    p = plan(demo, discounts=[discount(main, "开盘优惠").pk, discount(main, "按揭付款").pk])
    # list 1,993,456.78; 按揭付款 0.5% (order 2) = 9,967.28 → 1,983,489.50; 开盘优惠 −20,000
    assert p.list_price == Decimal("1993456.78")
    assert [(s.name, s.amount) for s in p.quote.steps] == [
        ("按揭付款", Decimal("9967.28")),
        ("开盘优惠", Decimal("20000.00")),
    ]
    assert p.price == Decimal("1963489.50")
    assert p.price_upper == "壹佰玖拾陆万叁仟肆佰捌拾玖元伍角整"
    # 30% down: 589,046.85; loan 1,374,442.65 at 3.5% over 30 years
    assert p.down_payment == Decimal("589046.85")
    assert p.loan == p.commercial_loan == Decimal("1374442.65")
    assert p.provident_loan == 0
    # 等额本息 P·r·(1+r)^360/((1+r)^360−1), r = 3.5%/12 → 6,171.86
    assert p.equal_installment.monthly_payment == Decimal("6171.86")
    # 等额本金 first month: 1,374,442.65/360 = 3,817.90 + interest 4,008.79
    assert p.equal_principal.monthly_payment == Decimal("7826.69")
    # 契税 first home ≤140㎡ 1%: 19,634.895 → 19,634.90; 维修资金 118.52 × 100
    assert p.deed_tax.amount == Decimal("19634.90")
    assert p.deed_tax.basis_text == "1%"
    assert p.maintenance.amount == Decimal("11852.00")
    assert p.cash_needed == Decimal("620533.75")
    assert not p.fees_incomplete


def test_combined_loan_and_amount_down_payment(demo):
    p = plan(
        demo,
        method="combined",
        down_payment_pct=None,
        down_payment="589046.85",
        provident_amount="600000",
        discounts=[discount(demo["main"], "按揭付款").pk, discount(demo["main"], "开盘优惠").pk],
    )
    assert p.provident_loan == Decimal("600000.00")
    assert p.commercial_loan == Decimal("774442.65")
    # 3,477.59 (commercial at 3.5%) + 2,402.04 (provident at 2.6%)
    assert p.equal_installment.monthly_payment == Decimal("5879.63")


def test_one_off_needs_no_loan(demo):
    main = demo["main"]
    p = plan(demo, method="one_off", discounts=[discount(main, "一次性付款").pk])
    # 1% off: 19,934.5678 → 19,934.57
    assert p.price == Decimal("1973522.21")
    assert p.down_payment == p.price and p.loan == 0
    assert p.equal_installment is None and p.equal_principal is None
    assert p.cash_needed == p.price + p.deed_tax.amount + p.maintenance.amount


def test_second_home_above_140_pays_2_percent(demo):
    unit = unit_of(demo["main"], gross="143.80", list_price="3000000.00")
    p = plan(demo, unit=unit, home="second")
    assert p.deed_tax.amount == Decimal("60000.00")  # 2%
    assert p.maintenance.amount == Decimal("14380.00")
    first = plan(demo, unit=unit, home="first")
    assert first.deed_tax.amount == Decimal("45000.00")  # 1.5%


@pytest.mark.parametrize(
    ("gross", "first", "second"),
    [
        ("139.99", "1", "1"),
        ("140.00", "1", "1"),  # "140㎡ 及以下"
        ("140.01", "1.5", "2"),  # "140㎡ 以上"
    ],
)
def test_fee_band_edges(demo, gross, first, second):
    unit = unit_of(demo["main"], gross=gross, list_price="1000000.00")
    assert plan(demo, unit=unit, home="first").deed_tax.amount == Decimal(first) * 10000
    assert plan(demo, unit=unit, home="second").deed_tax.amount == Decimal(second) * 10000


def test_a_fee_without_a_row_is_not_set_not_zero(demo):
    main = demo["main"]
    FeeRate.objects.filter(project=main, kind="maintenance").delete()
    p = plan(demo)
    assert p.maintenance.amount is None and not p.maintenance.is_set
    assert p.maintenance.basis_text == "未设置"
    assert p.fees_incomplete
    assert p.cash_needed == p.down_payment + p.deed_tax.amount


def test_the_exact_home_wins_over_any(demo):
    main = demo["main"]
    FeeRate.objects.create(
        project=main, kind="maintenance", home="second", basis="per_sqm", rate="150"
    )
    assert plan(demo, home="second").maintenance.amount == Decimal("17778.00")
    assert plan(demo, home="first").maintenance.amount == Decimal("11852.00")


def test_down_payment_below_the_minimum_is_refused_on_its_field(demo):
    with pytest.raises(DomainError) as exc:
        plan(demo, down_payment_pct="14.99")
    assert exc.value.code == "down_payment_too_low"
    assert "down_payment_pct" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        plan(demo, down_payment_pct=None, down_payment="100000")
    assert exc.value.code == "down_payment_too_low"
    assert list(exc.value.fields) == ["down_payment"]
    assert "15%" in exc.value.message


def test_the_minimum_is_the_project_setting(demo):
    main = demo["main"]
    PaymentSettings.objects.filter(project=main).update(min_down_pct_second=Decimal("25"))
    # exactly 15% passes for a first home (rounded up to the fen as the minimum is)
    assert plan(demo, down_payment_pct="15").down_payment == Decimal("299018.52")
    with pytest.raises(DomainError) as exc:
        plan(demo, home="second", down_payment_pct="20")
    assert exc.value.code == "down_payment_too_low" and "25%" in exc.value.message
    assert plan(demo, home="second", down_payment_pct="25").min_down_pct == Decimal("25")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"down_payment_pct": "100"}, "down_payment_pct"),
        ({"down_payment_pct": "abc"}, "down_payment_pct"),
        ({"commercial_rate": ""}, "commercial_rate"),
        ({"commercial_rate": "30"}, "commercial_rate"),
        ({"years": 31}, "years"),
        ({"method": "instalments"}, "method"),
        ({"home": "any"}, "home"),
        ({"method": "combined", "provident_amount": "0"}, "provident_amount"),
        ({"method": "combined", "provident_amount": "9999999"}, "provident_amount"),
        ({"method": "provident", "provident_rate": None}, "provident_rate"),
    ],
)
def test_refusals_name_the_field(demo, kwargs, field):
    with pytest.raises(DomainError) as exc:
        plan(demo, **kwargs)
    assert exc.value.code == "invalid"
    assert field in exc.value.fields, exc.value.fields


def test_discounts_only_the_projects_fixed_active_ones(demo):
    main = demo["main"]
    special = discount(main, "特批")
    for bad in ([special.pk], [999999], [discount(main, "开盘优惠").pk] * 2):
        with pytest.raises(DomainError) as exc:
            plan(demo, discounts=bad)
        assert "discounts" in exc.value.fields
    DiscountType.objects.filter(project=main, name="开盘优惠").update(is_active=False)
    with pytest.raises(DomainError):
        plan(demo, discounts=[discount(main, "开盘优惠").pk])


def test_plan_price_equals_the_deals_quote(demo):
    """The plan prices as a subscription would (deals.services.price_units)."""
    from loupan.deals.services import price_units

    main = demo["main"]
    unit = unit_of(main)
    chosen = [discount(main, "老带新"), discount(main, "一次性付款")]
    p = plan(demo, unit=unit, method="one_off", discounts=[t.pk for t in chosen])
    ordered = sorted(chosen, key=lambda t: (t.sort_order, t.pk))
    quote, _floor = price_units([unit], [(t.name, t.kind, t.value) for t in ordered])
    assert p.price == quote.total and p.quote.steps == quote.steps


def test_an_unpriced_unit_or_another_projects_is_refused(demo):
    main = demo["main"]
    unit = unit_of(main)
    with pytest.raises(DomainError) as exc:
        plans.purchase_plan(project=demo["second"], unit=unit, method="one_off")
    assert "unit" in exc.value.fields
    Unit.objects.filter(pk=unit.pk).update(list_price=None)
    unit.refresh_from_db()
    with pytest.raises(DomainError) as exc:
        plans.purchase_plan(project=main, unit=unit, method="one_off")
    assert "unit" in exc.value.fields


def test_plan_units_are_visible_priced_and_not_sold(demo):
    main = demo["main"]
    units = plans.plan_units(demo["users"]["consultant"], main)
    assert units.exists()
    assert all(u.current_status in ("available", "held", "reserved") for u in units[:50])
    assert not plans.plan_units(demo["users"]["sysadmin"], main).exists()  # no unit.view


def test_demo_is_idempotent(demo):
    from loupan.payments.plans_demo import demo_plans

    before = FeeRate.objects.count()
    demo_plans(demo)
    assert FeeRate.objects.count() == before == 10
    settings = PaymentSettings.objects.get(project=demo["main"])
    assert settings.late_fee_daily_pct == Decimal("0.0500")
    assert settings.late_fee_grace_days == 3
