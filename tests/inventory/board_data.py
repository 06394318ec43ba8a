"""A small priced building for the unit, hold and board tests."""

from decimal import Decimal

from loupan.accounts.models import User
from loupan.inventory import services
from loupan.inventory.models import Layout, Project


def small_building(
    name="9栋", floors=4, stairs=1, per_floor=2, release=True, price=Decimal("1000000")
):
    """A building of the demo's main project with floors × stairs × per_floor units,
    priced and (by default) released to available."""
    project = Project.objects.get(code="CHW")
    planner = User.objects.get(username="planner")
    layout, _ = Layout.objects.get_or_create(
        project=project, name="T1", defaults={"rooms": 3, "halls": 2, "baths": 1}
    )
    building = services.building_create(
        actor=planner,
        project=project,
        data={"name": name, "floors_above": floors, "stairs": stairs, "units_per_floor": per_floor},
    )
    positions = [
        {
            "layout": layout,
            "gross_area": Decimal("100.00"),
            "internal_area": Decimal("80.00"),
            "orientation": "S",
            "unit_price": price / 100,
            "list_price": price,
            "floor_price": price * Decimal("0.9"),
        }
        for _ in range(per_floor)
    ]
    units = services.building_generate_units(actor=planner, building=building, positions=positions)
    if release:
        services.units_release(
            actor=User.objects.get(username="salesadmin"),
            project=project,
            unit_ids=[u.pk for u in units],
        )
    return project, building, sorted(units, key=lambda u: u.number)
