"""Test data for the price-list tests: two buildings of the demo project 锦城·翠湖湾 (CHW)
with layouts and available units, created through the inventory services."""

from decimal import Decimal

import pytest

from loupan.inventory import pricelists as ps
from loupan.inventory import services
from loupan.inventory.models import PriceList, Unit, UnitStatus

RULE = {
    "building_prices": {},  # filled in by the fixture with the buildings' ids
    "floor": {"mode": "step", "base": 1, "step": "30", "exceptions": {"1": "-200", "top": "-100"}},
    "orientation_premiums": {"S": "100", "N": "-1%"},
    "view_premiums": {"湖景": "2%"},
    "rounding": {"step": "100", "on": "total"},
    "floor_price": {"discount_pct": "3"},
}


def make_rule(data, **changes):
    rule = {k: (dict(v) if isinstance(v, dict) else v) for k, v in RULE.items()}
    rule["building_prices"] = {
        str(data["b1"].pk): "12000",
        str(data["b2"].pk): "15000",
    }
    rule.update(changes)
    return rule


@pytest.fixture
def data(demo):
    """Buildings P1栋 (6 floors × 2 homes) and P2栋 (4 floors × 2 homes), all available,
    next to the demo's own buildings (which the tests leave alone)."""
    return build_data(demo)


def build_data(demo):
    planner = demo["users"]["planner"]
    project = demo["main"]
    a1 = services.layout_create(actor=planner, project=project, data={"name": "PA", "rooms": 3})
    b2l = services.layout_create(actor=planner, project=project, data={"name": "PB", "rooms": 2})
    b1 = services.building_create(
        actor=planner,
        project=project,
        data={"name": "P1栋", "floors_above": 6, "units_per_floor": 2},
    )
    b2 = services.building_create(
        actor=planner,
        project=project,
        data={"name": "P2栋", "floors_above": 4, "units_per_floor": 2, "sort_order": 1},
    )
    positions = [
        {
            "layout": a1,
            "gross_area": Decimal("98.50"),
            "internal_area": Decimal("80.20"),
            "orientation": "S",
            "view": "湖景",
        },
        {
            "layout": b2l,
            "gross_area": Decimal("76.30"),
            "internal_area": Decimal("61.00"),
            "orientation": "N",
        },
    ]
    for building in (b1, b2):
        services.building_generate_units(
            actor=planner, building=building, positions=positions, status=UnitStatus.AVAILABLE
        )
    return {
        "project": project,
        "users": demo["users"],
        "b1": b1,
        "b2": b2,
        "a1": a1,
        "b2l": b2l,
        "units": list(Unit.objects.filter(building__in=[b1, b2]).order_by("pk")),
    }


def approve_and_apply(data, pl):
    users = data["users"]
    pl = ps.pricelist_submit(actor=users["planner"], price_list=pl)
    approver = users["manager"] if pl.required_approver == "manager" else users["director"]
    pl = ps.pricelist_approve(actor=approver, price_list=pl, note="同意")
    ps.pricelist_apply(actor=users["planner"], price_list=pl)
    return PriceList.objects.get(pk=pl.pk)


@pytest.fixture
def priced(data):
    """The opening price list, generated, approved by the director and applied."""
    approve_and_apply(data, generate(data, name="开盘价"))
    return data


def generate(data, **kwargs):
    """A draft for the test buildings (the demo's buildings have no base price here)."""
    kwargs.setdefault("rule", make_rule(data))
    kwargs.setdefault("building_ids", [data["b1"].pk, data["b2"].pk])
    return ps.pricelist_generate(
        actor=data["users"]["planner"],
        project=data["project"],
        name=kwargs.pop("name", "方案"),
        **kwargs,
    )
