"""The sales-control board 销控表 and its statistics, read in a fixed number of queries.

One query loads every unit of the project (or building) with its layout; grouping into
buildings → stairs → floors, the legend and the statistics are computed from that list,
so the page costs the same number of queries for 300 or 3,000 units.
"""

from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from .models import SOLD_STATUSES, UNIT_STATUS_COLORS, Building, Unit, UnitStatus

# Bands for the statistics (seed 002 二.1(2): by building, layout, area, floor and price).
AREA_BANDS = [
    (None, Decimal("90")),
    (Decimal("90"), Decimal("120")),
    (Decimal("120"), Decimal("144")),
    (Decimal("144"), Decimal("180")),
    (Decimal("180"), None),
]
FLOOR_BANDS = [(None, 0), (1, 6), (7, 12), (13, 18), (19, 26), (27, None)]
PRICE_BANDS = [
    (None, Decimal("1000000")),
    (Decimal("1000000"), Decimal("1500000")),
    (Decimal("1500000"), Decimal("2000000")),
    (Decimal("2000000"), Decimal("3000000")),
    (Decimal("3000000"), None),
]

BOARD_FIELDS = [
    "id",
    "project_id",
    "building_id",
    "stair",
    "floor",
    "room",
    "number",
    "layout__name",
    "use",
    "gross_area",
    "list_price",
    "status",
    "sellable",
    "hold_reason",
    "version",
    "updated_at",
]


def _band_label(band, unit="", scale=1):
    low, high = band

    def fmt(v):
        return f"{v / scale:g}{unit}"

    if low is None:
        return f"<{fmt(high)}" if high else "—"
    if high is None:
        return f"≥{fmt(low)}"
    return f"{fmt(low)}–{fmt(high)}"


def _band_of(value, bands, inclusive_high=False):
    """The band holding ``value``: low inclusive; high exclusive (inclusive for floors)."""
    if value is None:
        return None
    for low, high in bands:
        if low is not None and value < low:
            continue
        if high is not None and (value > high if inclusive_high else value >= high):
            continue
        return (low, high)
    return None


@dataclass
class Cell:
    unit: dict
    matches: bool = True

    @property
    def color(self):
        return UNIT_STATUS_COLORS[self.unit["status"]]


@dataclass
class BuildingGrid:
    building: Building
    floors: list = field(default_factory=list)  # [(floor, [Cell|None per column])]
    columns: list = field(default_factory=list)  # [(stair, room)]
    counts: dict = field(default_factory=dict)

    @property
    def held_ratio(self):
        held = self.counts.get(UnitStatus.HELD, 0)
        pool = held + self.counts.get(UnitStatus.AVAILABLE, 0)
        return (Decimal(held) * 100 / pool).quantize(Decimal("0.1")) if pool else Decimal("0.0")

    @property
    def total(self):
        return sum(self.counts.values())

    @property
    def rows(self):
        """The floors with their cells already drawn (see render_cell)."""
        return render_rows(self.floors)


def board_values(qs) -> list[dict]:
    """The board's fields of each unit, its status as of now (a hold or reservation past
    its time reads 可售 before ``run-due`` writes it: the board never writes)."""
    fields = [f for f in BOARD_FIELDS if f != "status"]
    rows = list(qs.as_of_now().values(*fields, "current_status"))
    for row in rows:
        row["status"] = row.pop("current_status")
    return rows


def unit_rows(project, building=None):
    qs = Unit.objects.filter(project=project)
    if building is not None:
        qs = qs.filter(building=building)
    return board_values(qs.order_by("building_id", "stair", "-floor", "room"))


def build_board(project, *, building=None, matching_ids=None):
    """Buildings → floors → cells, plus the legend; ``matching_ids`` dims the rest."""
    buildings = list(
        Building.objects.filter(project=project)
        .select_related("phase")
        .order_by("sort_order", "name")
    )
    if building is not None:
        buildings = [b for b in buildings if b.pk == building.pk]
    rows = unit_rows(project, building)
    by_building = defaultdict(list)
    for row in rows:
        by_building[row["building_id"]].append(row)
    grids = []
    for b in buildings:
        units = by_building.get(b.pk, [])
        columns = sorted({(u["stair"], u["room"]) for u in units})
        index = {c: i for i, c in enumerate(columns)}
        floors = OrderedDict()
        counts = defaultdict(int)
        for u in sorted(units, key=lambda r: -r["floor"]):
            cells = floors.setdefault(u["floor"], [None] * len(columns))
            cells[index[(u["stair"], u["room"])]] = Cell(
                u, matching_ids is None or u["id"] in matching_ids
            )
            counts[u["status"]] += 1
        grids.append(BuildingGrid(b, list(floors.items()), columns, dict(counts)))
    return grids, rows


def legend(rows):
    """Counts and list-price amounts per status, in the status order."""
    counts = defaultdict(int)
    amounts = defaultdict(Decimal)
    for r in rows:
        counts[r["status"]] += 1
        amounts[r["status"]] += r["list_price"] or Decimal("0")
    return [
        {
            "status": s,
            "label": s.label,
            "color": UNIT_STATUS_COLORS[s],
            "count": counts.get(s, 0),
            "amount": amounts.get(s, Decimal("0")),
        }
        for s in UnitStatus
    ]


def statistics(rows, buildings):
    """Sold versus unsold by building, layout, area band, floor band and price band."""
    names = {b.pk: b.name for b in buildings}

    def table(key, order=None):
        data = defaultdict(
            lambda: {
                "total": 0,
                "sold": 0,
                "unsold": 0,
                "sold_amount": Decimal("0"),
                "unsold_amount": Decimal("0"),
            }
        )
        for r in rows:
            k = key(r)
            if k is None:
                continue
            d = data[k]
            price = r["list_price"] or Decimal("0")
            d["total"] += 1
            if r["status"] in SOLD_STATUSES:
                d["sold"] += 1
                d["sold_amount"] += price
            else:
                d["unsold"] += 1
                d["unsold_amount"] += price
        keys = order if order is not None else sorted(data, key=str)
        result = []
        for k in keys:
            if k in data:
                d = data[k]
                d["rate"] = (
                    (Decimal(d["sold"]) * 100 / d["total"]).quantize(Decimal("0.1"))
                    if d["total"]
                    else 0
                )
                result.append((k, d))
        return result

    no_layout = str(_("未设户型"))
    area_labels = {b: _band_label(b, "㎡") for b in AREA_BANDS}
    floor_labels = {
        b: _band_label(b, str(_("层"))) if b != (None, 0) else str(_("地下")) for b in FLOOR_BANDS
    }
    price_labels = {b: _band_label(b, str(_("万")), 10000) for b in PRICE_BANDS}
    return {
        str(_("楼栋")): [
            (names.get(k, k), d)
            for k, d in table(lambda r: r["building_id"], [b.pk for b in buildings])
        ],
        str(_("户型")): table(lambda r: r["layout__name"] or no_layout),
        str(_("面积段")): [
            (area_labels[k], d)
            for k, d in table(lambda r: _band_of(r["gross_area"], AREA_BANDS), AREA_BANDS)
        ],
        str(_("楼层段")): [
            (floor_labels[k], d)
            for k, d in table(
                lambda r: _band_of(r["floor"], FLOOR_BANDS, inclusive_high=True), FLOOR_BANDS
            )
        ],
        str(_("总价段")): [
            (price_labels[k], d)
            for k, d in table(lambda r: _band_of(r["list_price"], PRICE_BANDS), PRICE_BANDS)
        ],
    }


def render_cell(cell: Cell, oob: bool = False, labels: dict | None = None) -> str:
    """One board cell as HTML. Drawn in Python, not with a template include, because a
    board has thousands of cells; text is escaped with html.escape."""
    from html import escape

    from django.utils.safestring import mark_safe

    u = cell.unit
    labels = labels or status_labels()
    classes = (
        f"cell status-{u['status']}"
        + ("" if cell.matches else " dim")
        + ("" if u["sellable"] else " unsellable")
    )
    price = f"{(u['list_price'] / 10000):,.2f}万" if u["list_price"] is not None else "—"
    number = escape(u["number"])
    swap = ' hx-swap-oob="true"' if oob else ""
    return mark_safe(
        f'<td id="unit-{u["id"]}" class="{classes}" style="--c: {cell.color}" data-status="{u["status"]}"'
        f' data-version="{u["version"]}"{swap}'
        f' hx-get="/projects/{u["project_id"]}/units/{u["id"]}/card/" hx-target="#unit-card" hx-swap="innerHTML"'
        f' title="{number} · {escape(labels[u["status"]])}" tabindex="0" role="button">'
        f'<div class="no">{number}</div><div class="meta">{escape(u["layout__name"] or "")} {u["gross_area"]}㎡</div>'
        f'<div class="price">{price}</div></td>'
    )


def status_labels() -> dict:
    """Status labels in the active language, resolved once per page."""
    return {s.value: str(s.label) for s in UnitStatus}


def render_rows(floors, labels=None) -> list:
    """``[(floor, html of the row's cells)]`` for a building grid."""
    labels = labels or status_labels()
    rows = []
    for floor, cells in floors:
        html = "".join(
            render_cell(c, labels=labels) if c else '<td class="empty"></td>' for c in cells
        )
        rows.append((floor, html))
    return rows
