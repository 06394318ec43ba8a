"""Price-list arithmetic 价格方案计算: pure ``Decimal``, no ORM (issue Inventory, "Price lists").

A draft is generated from a rule:

* a base unit price per layout 户型 or per building 楼栋 (the layout's wins when both are
  given); with per-unit pricing 按套 the base is the price of the unit;
* a floor adjustment 楼层差: a per-floor step from a base floor, or a per-floor table,
  with exceptions for single floors and for each building's top floor ("top");
* orientation 朝向 and view 景观 premiums;
* per-unit manual overrides, which nothing else changes.

Every adjustment is written ``"120"`` (yuan per ㎡; per unit with per-unit pricing) or
``"2%"`` (percent of the base). A unit's price is ``base × (1 + Σ% / 100) + Σ amounts``,
then rounded half up (``core.money``) to 1, 10 or 100 yuan, on the total or on the unit
price. The total is unit price × pricing area (gross or internal area); with per-unit
pricing the total is the price. The average price 均价 is Σ total / Σ area (per-unit:
the mean total).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from loupan.core.errors import DomainError, ErrorCode
from loupan.core.money import ZERO, money, round_to, to_decimal

GROSS_AREA = "gross_area"
INTERNAL_AREA = "internal_area"
PER_UNIT = "per_unit"
BASES = (GROSS_AREA, INTERNAL_AREA, PER_UNIT)
ROUND_STEPS = (Decimal(1), Decimal(10), Decimal(100))
ROUND_ON = ("total", "unit_price")
FLOOR_MODES = ("none", "step", "table")
TOP = "top"
HUNDRED = Decimal(100)
ONE = Decimal(1)
# The target average is met when the result is within this many yuan of it.
TOLERANCE = Decimal(1)
# Prices above this are a typing error (the database keeps 14 digits).
MAX_PRICE = Decimal("999999999999")


def invalid(message: str, field_name: str = "non_field_errors") -> DomainError:
    return DomainError(ErrorCode.INVALID, message, {field_name: [message]})


def dec(value, field_name: str, *, positive: bool = False, minimum=None) -> Decimal:
    """A Decimal from user input, refused with a Chinese reason naming the field."""
    if isinstance(value, float):
        raise TypeError("money is never a float")
    try:
        number = to_decimal(value)
    except ValueError as exc:
        raise invalid(f"「{value}」不是有效的数字", field_name) from exc
    if not number.is_finite():
        raise invalid(f"「{value}」不是有效的数字", field_name)
    if abs(number) > MAX_PRICE:
        raise invalid(f"「{value}」超出范围", field_name)
    if positive and number <= 0:
        raise invalid(f"「{value}」必须大于 0", field_name)
    if minimum is not None and number < minimum:
        raise invalid(f"「{value}」不能小于 {minimum}", field_name)
    return number


def plain(number: Decimal) -> str:
    """A Decimal as plain text without exponent or trailing zeros (for the JSON rule)."""
    text = format(number.normalize(), "f")
    return "0" if text in ("-0", "") else text


# --- adjustments -----------------------------------------------------------------------


@dataclass(frozen=True)
class Adjust:
    """An additive amount (yuan/㎡, or yuan for per-unit pricing) and a percent of base."""

    amount: Decimal = ZERO
    pct: Decimal = ZERO

    @classmethod
    def parse(cls, value, field_name: str) -> Adjust:
        if isinstance(value, Adjust):
            return value
        text = str(value).strip().replace("％", "%").replace("+", "")
        if not text:
            return cls()
        if text.endswith("%"):
            return cls(pct=dec(text[:-1], field_name))
        return cls(amount=dec(text, field_name))

    def __add__(self, other: Adjust) -> Adjust:
        return Adjust(self.amount + other.amount, self.pct + other.pct)

    def times(self, n: int) -> Adjust:
        return Adjust(self.amount * n, self.pct * n)

    def to_json(self) -> str:
        if self.pct and not self.amount:
            return f"{plain(self.pct)}%"
        return plain(self.amount)

    def is_nonnegative(self) -> bool:
        return self.amount >= 0 and self.pct >= 0


NO_ADJUST = Adjust()


# --- the facts of a unit and the rule --------------------------------------------------


@dataclass(frozen=True)
class UnitFacts:
    """What the arithmetic needs of a unit (built by the services from the model)."""

    key: int
    label: str
    building: int
    layout: int | None
    floor: int
    gross_area: Decimal
    internal_area: Decimal | None = None
    orientation: str = ""
    view: str = ""
    top_floor: int | None = None


def pricing_area(facts: UnitFacts, basis: str) -> Decimal | None:
    """The area the unit price applies to; None for per-unit pricing."""
    if basis == PER_UNIT:
        return None
    if basis == INTERNAL_AREA:
        if facts.internal_area is None or facts.internal_area <= 0:
            raise invalid(f"房间 {facts.label} 没有套内面积，不能按套内面积计价", "pricing_basis")
        return facts.internal_area
    return facts.gross_area


def _keyed_prices(data, field_name: str) -> dict[int, Decimal]:
    out = {}
    for key, value in (data or {}).items():
        if value in (None, ""):
            continue
        try:
            ident = int(key)
        except (TypeError, ValueError) as exc:
            raise invalid(f"无效的编号：{key}", field_name) from exc
        out[ident] = dec(value, field_name, positive=True)
    return out


def _adjust_map(data, field_name: str) -> dict[str, Adjust]:
    out = {}
    for key, value in (data or {}).items():
        key = str(key).strip()
        if not key or value in (None, ""):
            continue
        out[key] = Adjust.parse(value, field_name)
    return out


def _floor_key(key, field_name: str) -> str:
    text = str(key).strip().lower()
    if text in (TOP, "顶层", "顶"):
        return TOP
    try:
        return str(int(text))
    except ValueError as exc:
        raise invalid(f"楼层「{key}」无效：请填写楼层数字或“顶层”", field_name) from exc


@dataclass
class Rule:
    """A generation rule (stored as JSON in ``PriceList.parameters["rule"]``)."""

    building_prices: dict[int, Decimal] = field(default_factory=dict)
    layout_prices: dict[int, Decimal] = field(default_factory=dict)
    floor_mode: str = "none"
    floor_base: int = 1
    floor_step: Adjust = NO_ADJUST
    floor_table: dict[str, Adjust] = field(default_factory=dict)
    floor_exceptions: dict[str, Adjust] = field(default_factory=dict)
    orientation_premiums: dict[str, Adjust] = field(default_factory=dict)
    view_premiums: dict[str, Adjust] = field(default_factory=dict)
    rounding_step: Decimal = ONE
    rounding_on: str = "total"
    # 底价 = total × (1 − discount%): confidential, kept under the key "floor_price" so that
    # core.masking strips it for viewers without unit.view_floor_price.
    floor_discount_pct: Decimal | None = None

    @classmethod
    def from_json(cls, data: dict) -> Rule:
        """Parse and validate; every refusal names the field it is about."""
        data = data or {}
        floor = data.get("floor") or {}
        rounding = data.get("rounding") or {}
        rule = cls(
            building_prices=_keyed_prices(data.get("building_prices"), "building_prices"),
            layout_prices=_keyed_prices(data.get("layout_prices"), "layout_prices"),
            orientation_premiums=_adjust_map(
                data.get("orientation_premiums"), "orientation_premiums"
            ),
            view_premiums=_adjust_map(data.get("view_premiums"), "view_premiums"),
        )
        if not rule.building_prices and not rule.layout_prices:
            raise invalid("请至少填写一个楼栋或户型的基准单价", "building_prices")
        rule.floor_mode = str(floor.get("mode") or "none")
        if rule.floor_mode not in FLOOR_MODES:
            raise invalid("楼层差方式无效", "floor_mode")
        try:
            rule.floor_base = int(floor.get("base") if floor.get("base") not in (None, "") else 1)
        except (TypeError, ValueError) as exc:
            raise invalid("基准楼层必须是整数", "floor_base") from exc
        rule.floor_step = Adjust.parse(floor.get("step") or "", "floor_step")
        rule.floor_table = {
            _floor_key(k, "floor_table"): v
            for k, v in _adjust_map(floor.get("table"), "floor_table").items()
        }
        rule.floor_exceptions = {
            _floor_key(k, "floor_exceptions"): v
            for k, v in _adjust_map(floor.get("exceptions"), "floor_exceptions").items()
        }
        step = dec(rounding.get("step") or "1", "rounding_step")
        if step not in ROUND_STEPS:
            raise invalid("取整单位只能是 1、10 或 100 元", "rounding_step")
        rule.rounding_step = Decimal(int(step))
        rule.rounding_on = str(rounding.get("on") or "total")
        if rule.rounding_on not in ROUND_ON:
            raise invalid("取整对象只能是总价或单价", "rounding_on")
        discount = (data.get("floor_price") or {}).get("discount_pct")
        if discount not in (None, ""):
            pct = dec(discount, "floor_price_discount", minimum=ZERO)
            if pct >= HUNDRED:
                raise invalid("底价折让必须小于 100%", "floor_price_discount")
            rule.floor_discount_pct = pct
        return rule

    def to_json(self) -> dict:
        data = {
            "building_prices": {str(k): plain(v) for k, v in self.building_prices.items()},
            "layout_prices": {str(k): plain(v) for k, v in self.layout_prices.items()},
            "floor": {
                "mode": self.floor_mode,
                "base": self.floor_base,
                "step": self.floor_step.to_json(),
                "table": {k: v.to_json() for k, v in self.floor_table.items()},
                "exceptions": {k: v.to_json() for k, v in self.floor_exceptions.items()},
            },
            "orientation_premiums": {k: v.to_json() for k, v in self.orientation_premiums.items()},
            "view_premiums": {k: v.to_json() for k, v in self.view_premiums.items()},
            "rounding": {"step": plain(self.rounding_step), "on": self.rounding_on},
        }
        if self.floor_discount_pct is not None:
            data["floor_price"] = {"discount_pct": plain(self.floor_discount_pct)}
        return data

    def floor_adjust(self, floor: int, top_floor: int | None) -> Adjust:
        """楼层差 of one floor: a single-floor exception, then the top-floor exception,
        then the step (× floors above the base floor) or the table."""
        if str(floor) in self.floor_exceptions:
            return self.floor_exceptions[str(floor)]
        if top_floor is not None and floor == top_floor and TOP in self.floor_exceptions:
            return self.floor_exceptions[TOP]
        if self.floor_mode == "step":
            return self.floor_step.times(floor - self.floor_base)
        if self.floor_mode == "table":
            return self.floor_table.get(str(floor), NO_ADJUST)
        return NO_ADJUST

    def base_price(self, facts: UnitFacts) -> Decimal | None:
        if facts.layout is not None and facts.layout in self.layout_prices:
            return self.layout_prices[facts.layout]
        return self.building_prices.get(facts.building)

    def raw_unit_price(self, facts: UnitFacts) -> Decimal | None:
        """The unrounded unit price (None when the unit has no base price)."""
        base = self.base_price(facts)
        if base is None:
            return None
        adjust = (
            self.floor_adjust(facts.floor, facts.top_floor)
            + self.orientation_premiums.get(facts.orientation, NO_ADJUST)
            + self.view_premiums.get(facts.view.strip(), NO_ADJUST)
        )
        return base * (ONE + adjust.pct / HUNDRED) + adjust.amount


# --- rounding, totals and floor prices -------------------------------------------------


@dataclass(frozen=True)
class Price:
    """A unit's price in a list: unit price (None with per-unit pricing), total, floor."""

    unit_price: Decimal | None
    total: Decimal
    floor_price: Decimal | None = None
    manual: bool = False


def round_price(raw_unit_price: Decimal, area: Decimal | None, step, on: str):
    """``(unit_price, total)`` rounded half up to ``step`` yuan on the total or on the
    unit price; with per-unit pricing (``area`` None) the total is the price."""
    step = to_decimal(step)
    if area is None:
        return None, round_to(raw_unit_price, step)
    if on == "unit_price":
        unit_price = round_to(raw_unit_price, step)
        return unit_price, money(unit_price * area)
    total = round_to(raw_unit_price * area, step)
    return money(total / area), total


def floor_price_for(total: Decimal, discount_pct: Decimal | None, step) -> Decimal | None:
    """底价 = total × (1 − discount%), rounded like the totals, never above the total."""
    if discount_pct is None:
        return None
    value = round_to(total * (HUNDRED - discount_pct) / HUNDRED, step)
    return min(value, total)


def override_price(*, area: Decimal | None, unit_price=None, total=None) -> tuple:
    """A manual price exactly as typed (no rounding): by unit price or by total."""
    if total not in (None, ""):
        total = money(dec(total, "total", positive=True))
        return (money(total / area) if area else None), total
    if unit_price in (None, ""):
        raise invalid("请填写单价或总价", "unit_price")
    unit_price = money(dec(unit_price, "unit_price", positive=True))
    if area is None:
        return None, unit_price
    return unit_price, money(unit_price * area)


def generate(rule: Rule, units: list[UnitFacts], basis: str, overrides: dict | None = None):
    """``{unit key: Price}`` for every unit; refuses listing the units without a base price
    or with a price that is not positive."""
    if basis not in BASES:
        raise invalid("计价方式无效", "pricing_basis")
    overrides = overrides or {}
    prices, missing, not_positive = {}, [], []
    for facts in units:
        area = pricing_area(facts, basis)
        if facts.key in overrides:
            unit_price, total = override_price(area=area, **overrides[facts.key])
            prices[facts.key] = Price(
                unit_price,
                total,
                floor_price_for(total, rule.floor_discount_pct, rule.rounding_step),
                manual=True,
            )
            continue
        raw = rule.raw_unit_price(facts)
        if raw is None:
            missing.append(facts.label)
            continue
        unit_price, total = round_price(raw, area, rule.rounding_step, rule.rounding_on)
        if total <= 0 or (unit_price is not None and unit_price <= 0):
            not_positive.append(facts.label)
            continue
        prices[facts.key] = Price(
            unit_price, total, floor_price_for(total, rule.floor_discount_pct, rule.rounding_step)
        )
    if missing:
        raise invalid(
            f"以下 {len(missing)} 个房间没有基准单价（请填写其楼栋或户型的基准价）：{_first(missing)}",
            "building_prices",
        )
    if not_positive:
        raise invalid(
            f"以下 {len(not_positive)} 个房间按规则算出的价格不为正数：{_first(not_positive)}",
            "floor_step",
        )
    return prices


def _first(labels, n=10) -> str:
    shown = "、".join(labels[:n])
    return f"{shown} 等" if len(labels) > n else shown


# --- averages and scaling to a target average -----------------------------------------


@dataclass(frozen=True)
class Line:
    """One unit in a set whose average is computed or scaled."""

    key: int
    area: Decimal | None  # None: per-unit pricing (weight 1)
    unit_price: Decimal | None
    total: Decimal
    fixed: bool = False  # manual overrides are never scaled


def _weight(line: Line) -> Decimal:
    return ONE if line.area is None else line.area


def average(lines) -> Decimal | None:
    """均价: Σ total / Σ area (per-unit pricing: the mean total), to the fen."""
    lines = list(lines)
    weight = sum((_weight(line) for line in lines), ZERO)
    if not lines or weight <= 0:
        return None
    return money(sum((line.total for line in lines), ZERO) / weight)


def scale_to_average(lines, target, *, step, on: str = "total", tolerance=TOLERANCE):
    """Scale the non-fixed lines by one factor, round each to the rounding rule, then
    nudge single units one rounding step up or down until the average is within
    ``tolerance`` yuan of ``target``. Returns ``{key: (unit_price, total)}`` for the
    scaled lines; refuses, saying the nearest reachable average, when it cannot be met.
    """
    lines = list(lines)
    target = dec(target, "target_average", positive=True)
    step = to_decimal(step)
    tolerance = to_decimal(tolerance)
    if not lines:
        raise invalid("没有可计算均价的房间", "target_average")
    weight = sum((_weight(line) for line in lines), ZERO)
    goal = target * weight
    fixed_total = sum((line.total for line in lines if line.fixed), ZERO)
    free = [line for line in lines if not line.fixed]
    if not free:
        raise invalid("所选房间均为手工定价，无法调整到目标均价", "target_average")
    free_goal = goal - fixed_total
    current = sum((line.total for line in free), ZERO)
    if free_goal <= 0 or current <= 0:
        raise invalid(
            f"手工定价房间的总价已达到或超过目标均价 {money(target)} 所需的总额，无法调整",
            "target_average",
        )
    factor = free_goal / current

    # Each free line moves on a lattice: multiples of ``step`` on its total (per-unit
    # pricing, or rounding on the total) or on its unit price (then a step is step × area).
    plan = []  # [line, low value, step size in total, remainder in [0, 1)]
    for line in free:
        ideal = line.total * factor
        by_unit_price = on == "unit_price" and line.area is not None
        size = step * line.area if by_unit_price else step
        low_steps = (ideal / size).to_integral_value(rounding=ROUND_FLOOR)
        if low_steps < 1:  # never a price of zero
            low_steps = Decimal(1)
        low = low_steps * size
        plan.append([line, low, size, max(ZERO, (ideal - low) / size), False])
    gap = free_goal - sum((p[1] for p in plan), ZERO)
    # Round up the lines closest to their next step first, as long as it does not overshoot.
    for entry in sorted(plan, key=lambda p: (-p[3], p[0].key)):
        if entry[2] <= gap:
            entry[4] = True
            gap -= entry[2]
    # Then single moves (one more step up, or one back down) while they bring it closer.
    for _ in range(len(plan) + 2):
        best, best_gap = None, abs(gap)
        for entry in plan:
            move = -entry[2] if entry[4] else entry[2]
            if abs(gap - move) < best_gap:
                best, best_gap = entry, abs(gap - move)
        if best is None:
            break
        gap -= -best[2] if best[4] else best[2]
        best[4] = not best[4]

    result = {}
    for line, low, size, _remainder, bumped in plan:
        total = money(low + (size if bumped else ZERO))
        if line.area is None:
            result[line.key] = (None, total)
        elif on == "unit_price":
            result[line.key] = (money(total / line.area), total)
        else:
            result[line.key] = (money(total / line.area), total)
    reached = (fixed_total + sum((t for _u, t in result.values()), ZERO)) / weight
    if abs(reached - target) > tolerance:
        raise invalid(
            f"按当前取整规则（{plain(step)} 元）无法使均价落在目标 {money(target)} 的 ±{plain(tolerance)} 元内，"
            f"最接近的均价为 {money(reached)}；请减小取整单位或增加参与调整的房间",
            "target_average",
        )
    return result


# --- adjustments 调价 ------------------------------------------------------------------

ADJUST_MODES = ("percent", "amount")


def adjust_price(
    *,
    unit_price: Decimal | None,
    total: Decimal,
    area: Decimal | None,
    mode: str,
    value,
    step,
    on: str = "total",
) -> tuple[Decimal | None, Decimal]:
    """Raise or lower one unit's price by a percent, or by an amount in yuan/㎡ (per-unit
    pricing: yuan per unit), rounded like a generated price."""
    if mode not in ADJUST_MODES:
        raise invalid("调价方式只能是按比例或按金额", "mode")
    value = dec(value, "value")
    if area is not None and unit_price is None:
        unit_price = total / area
    if mode == "percent":
        if value <= -HUNDRED:
            raise invalid("下调比例必须小于 100%", "value")
        factor = ONE + value / HUNDRED
        if area is None:
            new_total = round_to(total * factor, step)
            return None, new_total
        if on == "unit_price":
            return round_price(unit_price * factor, area, step, on)
        new_total = round_to(total * factor, step)
        return money(new_total / area), new_total
    raw = (total if area is None else unit_price) + value
    return round_price(raw, area, step, on)


def adjust_floor_price(floor_price, *, old_total, new_total, step):
    """The floor price moves with the list price, in proportion (the ratio of floor to
    list price stays), rounded like the totals and never above the new total."""
    if floor_price is None or old_total is None or old_total <= 0:
        return None if floor_price is None else min(floor_price, new_total)
    moved = round_to(floor_price * new_total / old_total, step)
    return max(ZERO, min(moved, new_total))


def change_pct(old: Decimal | None, new: Decimal) -> Decimal | None:
    """|new − old| / old in percent, to the hundredth; None for a unit never priced."""
    if old is None or old <= 0:
        return None
    return (abs(new - old) * HUNDRED / old).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- distribution ----------------------------------------------------------------------


@dataclass(frozen=True)
class StatRow:
    building: str
    layout: str
    area: Decimal | None
    unit_price: Decimal | None
    total: Decimal


def _group_stats(label: str, rows: list[StatRow]) -> dict:
    totals = [r.total for r in rows]
    unit_prices = [r.unit_price for r in rows if r.unit_price is not None]
    area_rows = [r for r in rows if r.area is not None]
    area_sum = sum((r.area for r in area_rows), ZERO)
    return {
        "label": label,
        "count": len(rows),
        "area": money(area_sum) if area_rows else None,
        "sum_total": money(sum(totals, ZERO)),
        "min_total": min(totals) if totals else None,
        "max_total": max(totals) if totals else None,
        "min_unit_price": min(unit_prices) if unit_prices else None,
        "max_unit_price": max(unit_prices) if unit_prices else None,
        # 均价 over the units priced by area; the mean total per unit for all of them.
        "avg_unit_price": money(sum((r.total for r in area_rows), ZERO) / area_sum)
        if area_sum > 0
        else None,
        "avg_total": money(sum(totals, ZERO) / len(rows)) if rows else None,
    }


def distribution(rows) -> dict:
    """min / max / average overall, by building and by layout; count and Σ total."""
    rows = list(rows)
    by_building: dict[str, list] = {}
    by_layout: dict[str, list] = {}
    for row in rows:
        by_building.setdefault(row.building, []).append(row)
        by_layout.setdefault(row.layout or "—", []).append(row)
    return {
        "overall": _group_stats("", rows),
        "by_building": [_group_stats(k, v) for k, v in by_building.items()],
        "by_layout": [_group_stats(k, v) for k, v in sorted(by_layout.items())],
    }
