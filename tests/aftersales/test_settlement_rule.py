"""The Art. 20 rule (商品房销售管理办法第二十条) as a pure function: every boundary, both
signs, the issue's example, internal-area and per-unit pricing, and hypothesis checking
that the amounts are what the rule says."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loupan.aftersales.settlement import Band, settle, settle_basis
from loupan.core.money import money

D = Decimal


def test_issue_example_100_to_105():
    r = settle("100.00", "105.00", "20000.00")
    assert (r.error_ratio, r.amount, r.developer_bears, r.buyer_may_cancel) == (
        D("5.00"),
        D("60000.00"),
        D("40000.00"),
        True,
    )
    assert r.band == Band.ABOVE and r.rule == "legal"
    assert any("60,000.00" in line and "3%" in line for line in r.workings)
    assert any("40,000.00" in line for line in r.workings)


@pytest.mark.parametrize(
    ("measured", "ratio", "amount", "bears", "cancel", "band"),
    [
        ("103.00", "3.00", "60000.00", "0.00", False, Band.WITHIN),  # exactly +3%
        ("97.00", "-3.00", "-60000.00", "0.00", False, Band.WITHIN),  # exactly −3%
        ("103.01", "3.01", "60000.00", "200.00", True, Band.ABOVE),  # just above +3%
        ("102.99", "2.99", "59800.00", "0.00", False, Band.WITHIN),  # just below +3%
        ("96.99", "-3.01", "-60400.00", "200.00", True, Band.BELOW),  # just beyond −3%
        ("97.01", "-2.99", "-59800.00", "0.00", False, Band.WITHIN),  # just inside −3%
        ("100.00", "0.00", "0.00", "0.00", False, Band.WITHIN),
        ("95.00", "-5.00", "-140000.00", "40000.00", True, Band.BELOW),  # 60k + 2 × 40k
    ],
)
def test_boundaries(measured, ratio, amount, bears, cancel, band):
    r = settle(D("100.00"), D(measured), D("20000.00"))
    assert r.error_ratio == D(ratio)
    assert r.amount == D(amount)
    assert r.developer_bears == D(bears)
    assert r.buyer_may_cancel is cancel
    assert r.band == band


def test_ratio_rounding_to_3_00_is_decided_on_the_exact_ratio():
    # 3.56 / 118.52 = 3.0037%: shown 3.00%, but beyond the limit
    r = settle("118.52", "122.08", "16999.66")
    assert r.error_ratio == D("3.00") and r.buyer_may_cancel and r.band == Band.ABOVE
    assert r.amount == money(D("118.52") * 3 / 100 * D("16999.66"))
    assert any("3.0037" in line for line in r.workings)
    # 2.68 / 89.36 = 2.9991%: shown 3.00%, within
    r = settle("89.36", "92.04", "16799.46")
    assert r.error_ratio == D("3.00") and not r.buyer_may_cancel
    assert r.amount == money(D("2.68") * D("16799.46"))


def test_contract_rule_threshold_and_single_refund():
    r = settle("100", "98.5", "10000", threshold=1, double_refund=False)
    assert r.rule == "contract" and r.buyer_may_cancel
    assert r.amount == D("-15000.00") and r.developer_bears == D("0.00")
    r = settle("100", "98.5", "10000", threshold=1, double_refund=True)
    assert r.amount == D("-20000.00") and r.developer_bears == D("5000.00")


def test_floats_refused():
    with pytest.raises(TypeError):
        settle(100.0, "105", "20000")


def test_internal_area_pricing_uses_internal_areas():
    r = settle_basis(
        "internal_area",
        contract_area="80.00",
        measured_gross="120.00",
        measured_internal="82.00",
        unit_price="25000.00",
    )
    assert r.measured_area == D("82.00") and r.error_ratio == D("2.50")
    assert r.amount == D("50000.00")
    assert "套内" in r.workings[0]


def test_per_unit_pricing_has_no_settlement():
    r = settle_basis(
        "per_unit",
        contract_area="80.00",
        measured_gross="90.00",
        measured_internal=None,
        unit_price="1000000",
    )
    assert r.rule == "none" and r.band == Band.NONE
    assert r.amount == 0 and r.developer_bears == 0 and r.buyer_may_cancel is False


areas = st.decimals(min_value="20.00", max_value="500.00", places=2)
prices = st.decimals(min_value="1000.00", max_value="200000.00", places=2)
deltas = st.decimals(min_value="-0.10", max_value="0.10", places=4)


@settings(max_examples=400, deadline=None)
@given(contract=areas, delta=deltas, price=prices)
def test_amounts_follow_the_rule(contract, delta, price):
    measured = money(contract * (1 + delta))
    if measured <= 0:
        return
    r = settle(contract, measured, price)
    diff = measured - contract
    limit = contract * 3 / 100
    exact = diff / contract * 100
    assert r.error_ratio == exact.quantize(D("0.01"), rounding="ROUND_HALF_UP")
    assert r.buyer_may_cancel == (abs(exact) > 3)
    # the amount and the developer's share together are the plain settlement (to the fen)
    assert abs(r.amount + r.developer_bears - diff * price) <= D("0.02")
    if abs(diff) <= limit:
        assert r.amount == money(diff * price) and r.developer_bears == 0
    elif diff > 0:
        assert r.amount == money(limit * price) > 0
        assert r.developer_bears == money((diff - limit) * price) > 0
        assert r.amount <= money(diff * price)
    else:
        assert r.amount == -(money(limit * price) + 2 * money((-diff - limit) * price))
        assert r.developer_bears == money((-diff - limit) * price)
        assert -r.amount >= money(-diff * price)  # the buyer never gets less than the area
    for value in (r.amount, r.developer_bears):
        assert value == value.quantize(D("0.01"))
