"""The price-list arithmetic (inventory/price_rules.py), property-tested with hypothesis:
rounding, totals, monotonic floor steps, scaling to a target average within 1 yuan with
overrides fixed, adjustments and the distribution; Decimal everywhere, never float."""

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from loupan.core.errors import DomainError, ErrorCode
from loupan.inventory import price_rules

STEPS = st.sampled_from([Decimal(1), Decimal(10), Decimal(100)])
ON = st.sampled_from(["total", "unit_price"])
PRICES = st.decimals(min_value=Decimal("3000"), max_value=Decimal("60000"), places=2)
AREAS = st.decimals(min_value=Decimal("30"), max_value=Decimal("300"), places=2)
TOTALS = st.decimals(min_value=Decimal("100000"), max_value=Decimal("9000000"), places=2)


def facts(key=1, *, building=1, layout=None, floor=1, area=Decimal("100"), top=30, **kw):
    return price_rules.UnitFacts(
        key=key,
        label=f"U{key}",
        building=building,
        layout=layout,
        floor=floor,
        gross_area=area,
        internal_area=kw.pop("internal", None),
        top_floor=top,
        **kw,
    )


def rule(**data):
    data.setdefault("building_prices", {"1": "10000"})
    return price_rules.Rule.from_json(data)


# --- rounding and totals ----------------------------------------------------------------


@given(raw=PRICES, area=AREAS, step=STEPS, on=ON)
def test_rounding_on_total_or_unit_price(raw, area, step, on):
    unit_price, total = price_rules.round_price(raw, area, step, on)
    assert isinstance(total, Decimal) and isinstance(unit_price, Decimal)
    if on == "total":
        assert total % step == 0
        assert abs(total - raw * area) <= step / 2
        assert unit_price == (total / area).quantize(Decimal("0.01"))
    else:
        assert unit_price % step == 0
        assert abs(unit_price - raw) <= step / 2
        assert total == (unit_price * area).quantize(Decimal("0.01"))
    assert total.as_tuple().exponent == -2


@given(raw=TOTALS, step=STEPS)
def test_per_unit_pricing_the_total_is_the_price(raw, step):
    unit_price, total = price_rules.round_price(raw, None, step, "unit_price")
    assert unit_price is None and total % step == 0 and abs(total - raw) <= step / 2


def test_rounding_is_half_up():
    assert price_rules.round_price(Decimal("10050"), None, 100, "total")[1] == Decimal("10100.00")
    assert price_rules.round_price(Decimal("10049.99"), None, 100, "total")[1] == Decimal(
        "10000.00"
    )
    assert price_rules.round_price(Decimal("12345.5"), Decimal("1"), 1, "unit_price")[0] == Decimal(
        "12346.00"
    )


def test_pricing_area_follows_the_basis():
    unit = facts(area=Decimal("98.50"), internal=Decimal("80.10"))
    assert price_rules.pricing_area(unit, "gross_area") == Decimal("98.50")
    assert price_rules.pricing_area(unit, "internal_area") == Decimal("80.10")
    assert price_rules.pricing_area(unit, "per_unit") is None
    with pytest.raises(DomainError) as exc:
        price_rules.pricing_area(facts(), "internal_area")
    assert exc.value.fields == {"pricing_basis": [exc.value.message]}


def test_float_is_refused():
    with pytest.raises(TypeError):
        price_rules.dec(1.5, "x")
    with pytest.raises(TypeError):
        price_rules.round_price(1.5, None, 1, "total")


# --- the generation rule ------------------------------------------------------------------


@given(
    base=PRICES,
    step_amount=st.decimals(min_value=Decimal("0"), max_value=Decimal("200"), places=0),
    step_pct=st.decimals(min_value=Decimal("0"), max_value=Decimal("2"), places=2),
    use_pct=st.booleans(),
    floors=st.lists(st.integers(min_value=-2, max_value=40), min_size=2, max_size=8, unique=True),
    rstep=STEPS,
    on=ON,
)
def test_floor_step_prices_never_fall_going_up(
    base, step_amount, step_pct, use_pct, floors, rstep, on
):
    step = f"{step_pct}%" if use_pct else str(step_amount)
    r = rule(
        building_prices={"1": str(base)},
        floor={"mode": "step", "base": 3, "step": step},
        rounding={"step": str(rstep), "on": on},
    )
    units = [facts(f, floor=f) for f in sorted(floors)]
    assume(all(r.raw_unit_price(u) > 0 for u in units))
    prices = price_rules.generate(r, units, "gross_area")
    totals = [prices[u.key].total for u in units]
    assert totals == sorted(totals)


def test_floor_exceptions_top_and_low_floors_and_table():
    r = rule(
        floor={
            "mode": "step",
            "base": 1,
            "step": "50",
            "exceptions": {"1": "-300", "2": "0", "顶层": "-100"},
        }
    )
    assert r.floor_adjust(1, 30) == price_rules.Adjust(amount=Decimal(-300))
    assert r.floor_adjust(2, 30) == price_rules.Adjust()
    assert r.floor_adjust(10, 30) == price_rules.Adjust(amount=Decimal(450))
    assert r.floor_adjust(30, 30) == price_rules.Adjust(amount=Decimal(-100))
    table = rule(floor={"mode": "table", "table": {"5": "2%", "6": "120"}})
    assert table.floor_adjust(5, 30) == price_rules.Adjust(pct=Decimal(2))
    assert table.floor_adjust(6, 30) == price_rules.Adjust(amount=Decimal(120))
    assert table.floor_adjust(7, 30) == price_rules.Adjust()


def test_layout_base_wins_and_premiums_add_up():
    r = rule(
        building_prices={"1": "10000"},
        layout_prices={"7": "11000"},
        orientation_premiums={"S": "200"},
        view_premiums={"湖景": "5%"},
    )
    assert r.raw_unit_price(facts(layout=7, orientation="S", view="湖景")) == Decimal("11750")
    assert r.raw_unit_price(facts(layout=8, orientation="N")) == Decimal("10000")
    assert r.raw_unit_price(facts(building=2)) is None


def test_rule_round_trips_and_validates():
    data = {
        "building_prices": {"1": "10000"},
        "floor": {"mode": "step", "base": 2, "step": "0.5%", "exceptions": {"top": "-100"}},
        "orientation_premiums": {"S": "100"},
        "rounding": {"step": "10", "on": "unit_price"},
        "floor_price": {"discount_pct": "3"},
    }
    r = price_rules.Rule.from_json(data)
    assert price_rules.Rule.from_json(r.to_json()) == r
    for bad, field in [
        ({}, "building_prices"),
        ({"building_prices": {"1": "-5"}}, "building_prices"),
        ({"building_prices": {"1": "1"}, "rounding": {"step": "5"}}, "rounding_step"),
        ({"building_prices": {"1": "1"}, "floor": {"mode": "x"}}, "floor_mode"),
        ({"building_prices": {"1": "1"}, "floor": {"step": "abc"}}, "floor_step"),
        ({"building_prices": {"1": "1"}, "floor": {"exceptions": {"十": "1"}}}, "floor_exceptions"),
        (
            {"building_prices": {"1": "1"}, "floor_price": {"discount_pct": "100"}},
            "floor_price_discount",
        ),
    ]:
        with pytest.raises(DomainError) as exc:
            price_rules.Rule.from_json(bad)
        assert exc.value.code == ErrorCode.INVALID and field in exc.value.fields, bad


def test_generate_refuses_units_without_a_base_price():
    with pytest.raises(DomainError) as exc:
        price_rules.generate(rule(), [facts(1), facts(2, building=9)], "gross_area")
    assert "U2" in exc.value.message


@given(
    total=TOTALS,
    pct=st.decimals(min_value=Decimal("0"), max_value=Decimal("20"), places=2),
    step=STEPS,
)
def test_floor_price_is_a_discount_never_above_the_total(total, pct, step):
    floor = price_rules.floor_price_for(total, pct, step)
    assert floor <= total
    assert floor % step == 0 or floor == total


# --- overrides and scaling to the target average -------------------------------------------


LINES = st.lists(st.tuples(AREAS, PRICES, st.booleans()), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(
    rows=LINES,
    target=st.decimals(min_value=Decimal("5000"), max_value=Decimal("40000"), places=2),
    step=STEPS,
    on=ON,
)
def test_scaling_reaches_the_target_within_one_yuan_or_refuses(rows, target, step, on):
    lines = []
    for key, (area, price, fixed) in enumerate(rows):
        unit_price, total = price_rules.round_price(price, area, step, on)
        lines.append(price_rules.Line(key, area, unit_price, total, fixed=fixed and key % 3 == 0))
    try:
        result = price_rules.scale_to_average(lines, target, step=step, on=on)
    except DomainError as exc:
        assert exc.code == ErrorCode.INVALID and "target_average" in exc.fields
        return
    fixed = [ln for ln in lines if ln.fixed]
    assert set(result) == {ln.key for ln in lines if not ln.fixed}  # overrides untouched
    new = [
        price_rules.Line(k, ln.area, *result[k]) if k in result else ln
        for k, ln in enumerate(lines)
    ]
    total = sum(ln.total for ln in new)
    area = sum(ln.area for ln in new)
    assert abs(total / area - target) <= 1
    for ln in new:
        assert isinstance(ln.total, Decimal) and ln.total > 0
        if on == "total":
            assert ln in fixed or ln.total % step == 0
        else:
            assert ln in fixed or ln.unit_price % step == 0
            assert ln in fixed or ln.total == (ln.unit_price * ln.area).quantize(Decimal("0.01"))


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(st.tuples(AREAS, PRICES), min_size=30, max_size=60),
    target=st.decimals(min_value=Decimal("8000"), max_value=Decimal("30000"), places=2),
)
def test_scaling_a_realistic_set_always_succeeds(rows, target):
    """Thirty or more homes rounded to 1 or 10 yuan on the total always reach the target."""
    for step in (Decimal(1), Decimal(10)):
        lines = [
            price_rules.Line(k, a, *price_rules.round_price(p, a, step, "total"))
            for k, (a, p) in enumerate(rows)
        ]
        result = price_rules.scale_to_average(lines, target, step=step, on="total")
        total = sum(t for _u, t in result.values())
        assert abs(total / sum(a for a, _p in rows) - target) <= 1


@settings(max_examples=100, deadline=None)
@given(
    totals=st.lists(TOTALS, min_size=1, max_size=30),
    target=st.decimals(min_value=Decimal("200000"), max_value=Decimal("5000000"), places=2),
)
def test_scaling_per_unit_basis_uses_the_mean_total(totals, target):
    lines = [price_rules.Line(k, None, None, money_(t)) for k, t in enumerate(totals)]
    result = price_rules.scale_to_average(lines, target, step=Decimal(1), on="total")
    mean = sum(t for _u, t in result.values()) / len(totals)
    assert abs(mean - target) <= 1


def money_(value):
    return value.quantize(Decimal("0.01"))


def test_scaling_refuses_clearly_when_impossible():
    one = [price_rules.Line(1, Decimal("50"), Decimal("10000"), Decimal("500000"))]
    with pytest.raises(DomainError) as exc:  # one 50 ㎡ unit, 100-yuan steps on the unit price
        price_rules.scale_to_average(one, "12345", step=100, on="unit_price")
    assert "最接近的均价为 12300.00" in exc.value.message
    fixed = [
        price_rules.Line(1, Decimal("50"), None, Decimal("900000"), fixed=True),
        price_rules.Line(2, Decimal("50"), None, Decimal("500000")),
    ]
    with pytest.raises(DomainError):  # the override alone is above the target total
        price_rules.scale_to_average(fixed, "8000", step=1)
    with pytest.raises(DomainError):
        price_rules.scale_to_average([fixed[0]], "8000", step=1)


# --- adjustments and changes --------------------------------------------------------------


@given(
    total=TOTALS,
    area=AREAS,
    pct=st.decimals(min_value=Decimal("-30"), max_value=Decimal("30"), places=2),
    step=STEPS,
    on=ON,
)
def test_percent_adjustment(total, area, pct, step, on):
    unit_price = money_(total / area)
    new_up, new_total = price_rules.adjust_price(
        unit_price=unit_price, total=total, area=area, mode="percent", value=pct, step=step, on=on
    )
    expected = total * (1 + pct / 100)
    tolerance = step / 2 * (area if on == "unit_price" else 1) + Decimal("0.01") * area
    assert abs(new_total - expected) <= tolerance
    if pct > 0:
        assert new_total >= price_rules.round_price(unit_price, area, step, on)[1] - tolerance


def test_amount_adjustment_per_square_metre_and_per_unit():
    up, total = price_rules.adjust_price(
        unit_price=Decimal("10000"),
        total=Decimal("1000000"),
        area=Decimal("100"),
        mode="amount",
        value="-200",
        step=1,
    )
    assert (up, total) == (Decimal("9800.00"), Decimal("980000.00"))
    up, total = price_rules.adjust_price(
        unit_price=None, total=Decimal("120000"), area=None, mode="amount", value="5000", step=100
    )
    assert (up, total) == (None, Decimal("125000.00"))
    with pytest.raises(DomainError):
        price_rules.adjust_price(
            unit_price=None, total=Decimal("1"), area=None, mode="x", value="1", step=1
        )


def test_floor_price_moves_in_proportion():
    assert price_rules.adjust_floor_price(
        Decimal("950000"), old_total=Decimal("1000000"), new_total=Decimal("1030000"), step=100
    ) == Decimal("978500.00")
    assert (
        price_rules.adjust_floor_price(None, old_total=Decimal("1"), new_total=Decimal("2"), step=1)
        is None
    )


def test_change_pct():
    assert price_rules.change_pct(Decimal("1000000"), Decimal("1030000")) == Decimal("3.00")
    assert price_rules.change_pct(Decimal("1000000"), Decimal("960000")) == Decimal("4.00")
    assert price_rules.change_pct(None, Decimal("1")) is None


def test_distribution_by_building_and_layout():
    rows = [
        price_rules.StatRow("1栋", "A1", Decimal("100"), Decimal("10000"), Decimal("1000000")),
        price_rules.StatRow("1栋", "B1", Decimal("50"), Decimal("12000"), Decimal("600000")),
        price_rules.StatRow("2栋", "A1", Decimal("100"), Decimal("11000"), Decimal("1100000")),
    ]
    stats = price_rules.distribution(rows)
    overall = stats["overall"]
    assert overall["count"] == 3 and overall["sum_total"] == Decimal("2700000.00")
    assert overall["avg_unit_price"] == Decimal("10800.00")
    assert (overall["min_unit_price"], overall["max_unit_price"]) == (
        Decimal("10000"),
        Decimal("12000"),
    )
    by_building = {g["label"]: g for g in stats["by_building"]}
    assert by_building["1栋"]["avg_unit_price"] == Decimal("10666.67")
    by_layout = {g["label"]: g for g in stats["by_layout"]}
    assert by_layout["A1"]["count"] == 2 and by_layout["A1"]["max_total"] == Decimal("1100000")
