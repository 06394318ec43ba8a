"""The demo office's inventory: the developer company, the main project 锦城·翠湖湾 with
two phases and six buildings under presale permits (about 600 homes and two basement
floors of parking, priced, mostly released, a few held) and a second project 锦城·云栖府.
Registered in ``InventoryConfig.ready()`` as two steps: the office (company, projects,
permits: the accounts' memberships need the projects) and, once the accounts exist, the
buildings, units and price lists (built by the demo planner and sales admin).
"""

import datetime
from decimal import Decimal

from loupan.audit.services import audit_create

from . import pricelists
from . import services as inv
from .models import (
    Building,
    Company,
    Layout,
    Phase,
    PresalePermit,
    Project,
    ProjectStatus,
    Unit,
    UnitStatus,
    UnitUse,
)

MAIN_PERMITS = [
    (
        "蓉预售字第510100202601234号",
        datetime.date(2026, 3, 18),
        "一期 1栋、2栋、3栋",
        Decimal("58230.55"),
    ),
    (
        "蓉预售字第510100202607788号",
        datetime.date(2026, 8, 26),
        "二期 5栋、6栋、8栋",
        Decimal("61877.20"),
    ),
]


def _get_or_create(model, lookup: dict, defaults: dict):
    obj, created = model.objects.get_or_create(**lookup, defaults=defaults)
    if created:
        audit_create(actor=None, obj=obj, extra={"source": "demo"})
    return obj


def demo_office(context: dict) -> dict:
    """The company and its two projects, the main one under two presale permits; found
    by their natural keys when they exist."""
    company = _get_or_create(
        Company,
        {"name": "锦城置业有限公司"},
        {
            "short_name": "锦城置业",
            "credit_code": "91510100MA6DEMO01X",
            "address": "成都市高新区天府大道北段 1700 号",
            "phone": "028-85550000",
        },
    )
    main = _get_or_create(
        Project,
        {"code": "CHW"},
        {
            "company": company,
            "name": "锦城·翠湖湾",
            "city": "成都",
            "district": "高新区",
            "address": "成都市高新区锦城大道 888 号",
            "sales_office_phone": "028-85558888",
            "status": ProjectStatus.SELLING,
            "note": "两期六栋：一期 1、2、3 栋高层住宅，二期 5、6、8 栋洋房；地下车位两层。",
        },
    )
    second = _get_or_create(
        Project,
        {"code": "YQF"},
        {
            "company": company,
            "name": "锦城·云栖府",
            "city": "绵阳",
            "district": "涪城区",
            "address": "绵阳市涪城区临园路 66 号",
            "sales_office_phone": "0816-2226666",
            "status": ProjectStatus.PREPARING,
        },
    )
    for number, issued_on, buildings, area in MAIN_PERMITS:
        _get_or_create(
            PresalePermit,
            {"project": main, "number": number},
            {
                "issued_on": issued_on,
                "authority": "成都市住房和城乡建设局",
                "buildings": buildings,
                "area": area,
            },
        )
    return {"company": company, "main": main, "second": second}


# name, phase, floors above, stairs, homes per floor per stair, base unit price (yuan/㎡),
# positions: (layout, gross area, internal area, orientation)
DEMO_BUILDINGS = [
    (
        "1栋",
        "一期",
        26,
        2,
        2,
        16800,
        [("A1", "89.36", "71.20", "S"), ("B1", "118.52", "95.10", "SN")],
    ),
    (
        "2栋",
        "一期",
        26,
        2,
        2,
        16900,
        [("A1", "89.36", "71.20", "S"), ("B1", "118.52", "95.10", "SN")],
    ),
    (
        "3栋",
        "一期",
        33,
        1,
        4,
        15800,
        [
            ("A2", "78.90", "62.45", "SE"),
            ("A1", "89.36", "71.20", "S"),
            ("A1", "89.36", "71.20", "S"),
            ("A2", "78.90", "62.45", "SW"),
        ],
    ),
    (
        "5栋",
        "二期",
        13,
        2,
        2,
        21500,
        [("C1", "143.80", "117.60", "SN"), ("C1", "143.80", "117.60", "SN")],
    ),
    (
        "6栋",
        "二期",
        13,
        2,
        2,
        21800,
        [("C1", "143.80", "117.60", "SN"), ("D1", "178.25", "146.30", "SN")],
    ),
    (
        "8栋",
        "二期",
        33,
        1,
        4,
        17200,
        [
            ("B2", "105.66", "84.90", "SE"),
            ("B1", "118.52", "95.10", "S"),
            ("B1", "118.52", "95.10", "S"),
            ("B2", "105.66", "84.90", "SW"),
        ],
    ),
]
DEMO_LAYOUTS = [
    ("A1", 2, 2, 1, "两室朝南"),
    ("A2", 2, 1, 1, "紧凑两室"),
    ("B1", 3, 2, 1, "南北通透三室"),
    ("B2", 3, 2, 2, "三室双卫"),
    ("C1", 4, 2, 2, "洋房四室"),
    ("D1", 4, 2, 3, "洋房边户大四室"),
]


def demo_inventory(context: dict) -> None:
    """Phases, layouts, six buildings (about 600 homes) and two basement floors of
    parking of the main project, priced per floor, mostly released, with a few held
    units. Built only once: a project that already has buildings is left alone."""
    project, users = context["main"], context["users"]
    if Building.objects.filter(project=project).exists():
        return
    planner, salesadmin = users["planner"], users["salesadmin"]
    phases = {
        name: Phase.objects.create(project=project, name=name, sort_order=i)
        for i, name in enumerate(["一期", "二期"])
    }
    layouts = {
        name: Layout.objects.create(
            project=project, name=name, rooms=r, halls=h, baths=b, note=note
        )
        for name, r, h, b, note in DEMO_LAYOUTS
    }
    permits = list(project.permits.order_by("issued_on"))
    buildings = []
    for order, (name, phase, floors, stairs, per_floor, base, positions) in enumerate(
        DEMO_BUILDINGS
    ):
        building = inv.building_create(
            actor=planner,
            project=project,
            data={
                "phase": phases[phase],
                "name": name,
                "floors_above": floors,
                "floors_below": 2,
                "stairs": stairs,
                "units_per_floor": per_floor,
                "has_elevator": True,
                "sort_order": order,
                "permit": permits[0 if phase == "一期" else 1] if permits else None,
            },
        )
        specs = [
            {
                "layout": layouts[lay],
                "gross_area": Decimal(g),
                "internal_area": Decimal(i),
                "shared_area": Decimal(g) - Decimal(i),
                "orientation": o,
                "fit_out": "fine",
            }
            for lay, g, i, o in positions
        ]
        inv.building_generate_units(actor=planner, building=building, positions=specs)
        buildings.append((building, floors, base))
    _demo_price_lists(project, users, buildings)
    for building, floors, _base in buildings:
        # The top five floors of the towers stay unreleased (the next push).
        release = list(
            Unit.objects.filter(building=building)
            .exclude(floor__gt=floors - 5 if floors > 20 else 999)
            .values_list("pk", flat=True)
        )
        inv.units_release(
            actor=salesadmin, project=project, unit_ids=release, reason="首次开盘推盘"
        )
    garage = inv.building_create(
        actor=planner,
        project=project,
        data={
            "name": "地下车库",
            "floors_above": 0,
            "floors_below": 2,
            "stairs": 1,
            "units_per_floor": 60,
            "has_elevator": True,
            "sort_order": 99,
            "phase": phases["一期"],
        },
    )
    inv.building_generate_units(
        actor=planner,
        building=garage,
        floors=[-1, -2],
        positions=[
            {"use": UnitUse.PARKING, "gross_area": Decimal("12.50"), "pricing_basis": "per_unit"}
            for _ in range(60)
        ],
    )
    _price(
        project,
        users,
        "车位价格方案",
        pricing_basis="per_unit",
        unit_ids=list(Unit.objects.filter(building=garage).values_list("pk", flat=True)),
        rule={
            "building_prices": {str(garage.pk): "120000"},
            "floor_price": {"discount_pct": "10"},
            "rounding": {"step": "100"},
        },
    )
    inv.units_release(
        actor=salesadmin,
        project=project,
        unit_ids=list(Unit.objects.filter(building=garage).values_list("pk", flat=True)),
    )
    # A few units the office holds back (销控保留) for the second opening.
    held = list(
        Unit.objects.filter(
            project=project, building__name="5栋", floor__in=[6, 7], status=UnitStatus.AVAILABLE
        ).values_list("pk", flat=True)
    )
    inv.units_hold(actor=salesadmin, project=project, unit_ids=held, reason="二次开盘加推预留")
    view_units = list(
        Unit.objects.filter(
            project=project, building__name="1栋", floor=18, status=UnitStatus.AVAILABLE
        ).values_list("pk", flat=True)
    )
    inv.units_hold(actor=salesadmin, project=project, unit_ids=view_units, reason="领导关系户协调")
    # 二期洋房 sells well: planning proposes +2 %, waiting for the manager's approval.
    phase2 = list(
        Unit.objects.filter(
            project=project, building__name__in=["5栋", "6栋"], status=UnitStatus.AVAILABLE
        ).values_list("pk", flat=True)
    )
    adjustment = pricelists.adjustment_create(
        actor=planner,
        project=project,
        name="二期洋房上调 2%",
        unit_ids=phase2,
        mode="percent",
        value="2",
        rounding_step="100",
        note="二期去化快于预期，上调以控制节奏",
    )
    pricelists.pricelist_submit(actor=planner, price_list=adjustment)


def _demo_price_lists(project, users, buildings) -> None:
    """The opening price list V1 of the homes: drafted by planning from base prices per
    building, a floor step and orientation premiums; approved by the director; applied."""
    rule = {
        "building_prices": {str(b.pk): str(base) for b, _floors, base in buildings},
        # 楼层差: +40 yuan/㎡ per floor above the 3rd; the top floor 300 less (roof heat).
        "floor": {
            "mode": "step",
            "base": 3,
            "step": "40",
            "exceptions": {"1": "0", "2": "0", "top": "-300"},
        },
        "orientation_premiums": {"SN": "200", "SE": "80", "SW": "-50"},
        "rounding": {"step": "100", "on": "total"},
        "floor_price": {"discount_pct": "5"},
    }
    homes = list(
        Unit.objects.filter(building__in=[b for b, _f, _b in buildings]).values_list(
            "pk", flat=True
        )
    )
    _price(project, users, "首次开盘价格方案", rule=rule, unit_ids=homes, note="一期、二期首次开盘")


def _price(project, users, name, *, rule, unit_ids, note="", pricing_basis=None) -> None:
    """A price list drafted by planning, approved by the director and applied."""
    planner = users["planner"]
    price_list = pricelists.pricelist_generate(
        actor=planner,
        project=project,
        name=name,
        rule=rule,
        unit_ids=unit_ids,
        note=note,
        pricing_basis=pricing_basis,
    )
    pricelists.pricelist_submit(actor=planner, price_list=price_list)
    pricelists.pricelist_approve(
        actor=users["director"], price_list=price_list, note="同意，按方案执行"
    )
    pricelists.pricelist_apply(actor=planner, price_list=price_list)
