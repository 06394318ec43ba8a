"""Units in and out of Excel: the xlsx the planning department keeps, one row per unit
(issue Inventory: "Import from the xlsx the planning department already keeps").

* ``read_units`` reads a file and returns every problem as (row as Excel shows it, column
  header, Chinese reason) together with the unsaved units; it writes nothing.
* ``units_import`` re-reads the file inside one transaction and writes all rows or none:
  bulk insert of the units, one price-history row per priced unit, and ONE audit entry
  summarising the import (row count, buildings, file name and SHA-256), not one entry per
  unit: a 20,000-unit import stays one readable line in the trail.
* ``units_export`` writes the same format (so export → import into an empty project
  round-trips), with the 底价 column only for viewers who may see floor prices; it is
  audited as an export.
* ``units_template`` is the downloadable template: header, one example row and a second
  sheet explaining every column and its allowed values.

Reading, checking the container, cell parsing, problems and writing the workbook are
``loupan.core.xlsx``, shared with the customers import. Malformed input (not a zip, an
old .xls, random bytes, a .docx, a zip bomb, an empty sheet, wrong headers) is refused
with a Chinese message, never a 500.
"""

from __future__ import annotations

import re
from collections import Counter, OrderedDict
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loupan.accounts.access import require_perm
from loupan.core import xlsx
from loupan.core.errors import DomainError
from loupan.core.masking import can_see_floor_price
from loupan.core.xlsx import (
    EXAMPLE_NOTE,
    XLSX_CONTENT_TYPE,
    YES,
    CellError,
    Column,
    ImportFileError,
    ImportInvalid,
    Problem,
    RowProblems,
    check_container,
    max_bytes,
    max_rows,
)

from . import services
from .models import (
    Building,
    FitOut,
    Layout,
    Orientation,
    PricingBasis,
    Project,
    Unit,
    UnitUse,
)
from .services import unit_check, unit_number

__all__ = [
    "EXAMPLE_NOTE",
    "XLSX_CONTENT_TYPE",
    "ImportFileError",
    "ImportInvalid",
    "Problem",
    "can_see_floor_price",
    "check_container",
    "max_bytes",
    "max_rows",
]

DATA_SHEET = "房源"


# --- the format ---------------------------------------------------------------------

COLUMNS: list[Column] = [
    Column(
        "building",
        "楼栋",
        "text",
        True,
        help="项目中已建立的楼栋名称，如 1栋",
        example="1栋",
        aliases=("楼号", "栋号", "楼栋号", "楼栋名称"),
    ),
    Column(
        "stair",
        "单元",
        "stair",
        help="单元（梯）号，正整数；空白为 1",
        example=1,
        width=6,
        aliases=("单元号",),
    ),
    Column(
        "floor",
        "楼层",
        "floor",
        True,
        help="整数；地下层写负数或 B1、B2",
        example=15,
        width=6,
        aliases=("层", "所在楼层", "层数"),
    ),
    Column(
        "room",
        "房号",
        "room",
        True,
        help="本层房号，如 02（请设为文本格式以保留前导 0）",
        example="02",
        width=6,
        aliases=("房间号", "户号"),
    ),
    Column(
        "number",
        "房间编号",
        "text",
        help="可空：空白时按 楼栋+单元+楼层+房号 生成，如 1栋2单元1502",
        example="",
        width=16,
        aliases=("房源编号", "房屋编号", "编号"),
    ),
    Column(
        "layout",
        "户型",
        "text",
        help="项目户型库中的户型名称，可空",
        example="A1",
        aliases=("户型名称",),
    ),
    Column(
        "use",
        "用途",
        "choice",
        choices=UnitUse,
        help="空白为 住宅",
        example="住宅",
        width=8,
        aliases=("房屋用途", "物业类型"),
    ),
    Column(
        "gross_area",
        "建筑面积",
        "area",
        True,
        help="平方米，大于 0，两位小数",
        example=Decimal("89.50"),
        aliases=("面积",),
    ),
    Column(
        "internal_area",
        "套内面积",
        "area",
        help="平方米，大于 0 且不大于建筑面积；可空",
        example=Decimal("72.30"),
        aliases=("套内建筑面积",),
    ),
    Column(
        "shared_area",
        "分摊面积",
        "area",
        help="平方米，可空；填写套内面积时，套内 + 分摊应等于建筑面积",
        example=Decimal("17.20"),
        aliases=("公摊面积", "分摊"),
    ),
    Column(
        "orientation", "朝向", "choice", choices=Orientation, help="可空", example="南", width=8
    ),
    Column("view", "景观", "text", help="可空，如 湖景", example="湖景"),
    Column(
        "fit_out",
        "装修",
        "choice",
        choices=FitOut,
        help="空白为 毛坯",
        example="毛坯",
        width=8,
        aliases=("装修标准",),
    ),
    Column(
        "pricing_basis",
        "计价方式",
        "choice",
        choices=PricingBasis,
        help="空白时用项目的默认计价方式",
        example="按建筑面积",
        width=12,
    ),
    Column(
        "unit_price",
        "单价",
        "money",
        help="元/平方米，不小于 0，可空",
        example=Decimal("15000.00"),
        width=12,
        aliases=("单价元", "单价元/平方米"),
    ),
    Column(
        "list_price",
        "表价",
        "money",
        help="元，不小于 0，不低于底价，可空",
        example=Decimal("1342500.00"),
        width=14,
        aliases=("总价", "表价元"),
    ),
    Column(
        "floor_price",
        "底价",
        "money",
        help="元，不小于 0，可空；仅有“查看底价”权限的用户可导出和导入此列",
        example=Decimal("1300000.00"),
        width=14,
        aliases=("底价元",),
    ),
    Column(
        "sellable",
        "可售",
        "bool",
        help="是 或 否；空白为 是",
        example=YES,
        width=6,
        aliases=("是否可售",),
    ),
    Column(
        "unsellable_reason", "不可售原因", "text", help="可售为 否 时必填", example="", width=16
    ),
    Column("note", "备注", "text", help="可空", example=EXAMPLE_NOTE, width=24),
]
COLUMN_BY_FIELD = {c.field: c for c in COLUMNS}
PARSED_FIELDS = [c.field for c in COLUMNS if c.field != "number"]

# Extra spellings accepted for choice cells (the labels and the codes always are).
CHOICE_ALIASES = {
    "pricing_basis": {
        "建筑面积": PricingBasis.GROSS_AREA,
        "按建面": PricingBasis.GROSS_AREA,
        "套内面积": PricingBasis.INTERNAL_AREA,
        "按套内": PricingBasis.INTERNAL_AREA,
        "套": PricingBasis.PER_UNIT,
        "整套": PricingBasis.PER_UNIT,
    },
    "orientation": {"南北": Orientation.SOUTH_NORTH, "东西向": Orientation.EAST_WEST},
}

FORMAT = xlsx.TableFormat(
    columns=tuple(COLUMNS),
    sheet=DATA_SHEET,
    key_field="building",
    empty_message=gettext_lazy("工作表是空的：第一行应为表头，从第二行起每行一个房间。"),
    not_table_message=gettext_lazy(
        "第 %(row)d 行不是房源表的表头：必须包含 %(required)s 等列，请使用下载的模板。"
    ),
    no_data_message=gettext_lazy("文件中没有房间数据：表头下方至少需要一行。"),
    invalid_message=gettext_lazy("导入文件有 %(count)d 处问题，未导入任何房间。"),
    row_noun="一个房间",
    choice_aliases=CHOICE_ALIASES,
)


def columns_for(*, floor_price: bool) -> list[Column]:
    return [c for c in COLUMNS if floor_price or c.field != "floor_price"]


# --- results ------------------------------------------------------------------------


@dataclass
class ImportResult(xlsx.ImportResult):
    @property
    def units(self) -> list[Unit]:
        return self.items

    def summary(self) -> dict:
        """Rows, units per building, total gross area and list price (the preview)."""
        buildings: OrderedDict[str, dict] = OrderedDict()
        total_area = Decimal("0.00")
        total_price = Decimal("0.00")
        priced = 0
        for unit in self.units:
            name = unit.building.name if unit.building_id else ""
            entry = buildings.setdefault(
                name,
                {"name": name, "units": 0, "area": Decimal("0.00"), "list_price": Decimal("0.00")},
            )
            entry["units"] += 1
            entry["area"] += unit.gross_area or 0
            total_area += unit.gross_area or 0
            if unit.list_price is not None:
                entry["list_price"] += unit.list_price
                total_price += unit.list_price
                priced += 1
        return {
            "rows": self.rows,
            "buildings": list(buildings.values()),
            "total_area": total_area,
            "total_list_price": total_price,
            "priced": priced,
            "layouts": dict(Counter(u.layout.name for u in self.units if u.layout_id)),
        }


# --- reading ------------------------------------------------------------------------


def _parse_cell(column: Column, value, choice_maps):
    """One cell's value for the unit, or CellError with the Chinese reason: the unit's
    own kinds here, the shared ones (text, money, choice, bool) in core.xlsx."""
    kind = column.kind
    if kind == "stair":
        number = xlsx.integer(value)
        if number < 1 or number > 999:
            raise CellError(_("必须是 1 到 999 的整数"))
        return number
    if kind == "floor":
        text = xlsx.text(value).upper()
        match = re.fullmatch(r"(?:B|地下)(\d+)层?", text)
        number = -int(match.group(1)) if match else xlsx.integer(value)
        if number == 0:
            raise CellError(_("楼层不能为 0"))
        if not -99 <= number <= 300:
            raise CellError(_("楼层超出范围"))
        return number
    if kind == "room":
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = xlsx.integer(value)
            text = f"{number:02d}"
        else:
            text = xlsx.text(value)
        if len(text) > Unit._meta.get_field("room").max_length:
            raise CellError(_("最多 %(n)d 个字符") % {"n": Unit._meta.get_field("room").max_length})
        return text
    if kind == "area":
        number = xlsx.decimal(value)
        if column.field == "shared_area":
            if number < 0:
                raise CellError(_("不能为负数"))
        elif number <= 0:
            raise CellError(_("必须是大于 0 的数"))
        if number >= xlsx.max_for(Unit, column.field):
            raise CellError(_("数值过大"))
        return number
    return xlsx.parse_cell(column, value, model=Unit, choice_maps=choice_maps)


def read_units(*, project: Project, file, user=None, file_name: str = "") -> ImportResult:
    """Read and check the whole file; every problem is collected, nothing is written.

    ``file`` is bytes, a path or a (Django) file object. Raises ``ImportFileError`` when
    the file cannot be read as the units workbook at all.
    """
    table = xlsx.read_table(file, FORMAT, file_name)
    result = ImportResult(rows=len(table.rows), file_name=table.file_name, sha256=table.sha256)
    problems = table.problems
    if "floor_price" in table.index_of and not (user is None or can_see_floor_price(user, project)):
        if table.has_values("floor_price"):
            problems.append(
                Problem(
                    table.header_number,
                    COLUMN_BY_FIELD["floor_price"].header,
                    _("您没有查看底价的权限，不能导入底价；请删除此列或清空其内容"),
                )
            )
        table.index_of.pop("floor_price")
    if problems:
        result.problems = problems
        return result

    buildings = {b.name: b for b in Building.objects.filter(project=project)}
    layouts = {layout.name: layout for layout in Layout.objects.filter(project=project)}
    existing_numbers = {}
    existing_positions = {}
    for number, building_id, stair, floor, room in Unit.objects.filter(project=project).values_list(
        "number", "building_id", "stair", "floor", "room"
    ):
        existing_numbers[number] = number
        existing_positions[(building_id, stair, floor, room)] = number
    choice_maps = FORMAT.choice_maps()
    seen_numbers: dict[str, int] = {}
    seen_positions: dict[tuple, int] = {}

    def parse(column, raw):
        return _parse_cell(column, raw, choice_maps)

    for row_number, values in table.rows:
        problem = RowProblems(row_number, FORMAT)
        data = table.cells(values, problem, parse)
        building = None
        if "building" in data:
            building = xlsx.lookup_name(buildings, data["building"])
            if building is None:
                problem(
                    "building",
                    _("楼栋「%(name)s」不存在，请先在项目中建立该楼栋")
                    % {"name": data["building"]},
                )
        data["building"] = building
        if data.get("layout"):
            layout = xlsx.lookup_name(layouts, data["layout"])
            if layout is None:
                problem(
                    "layout",
                    _("户型「%(name)s」不存在，请先在户型库中添加") % {"name": data["layout"]},
                )
            data["layout"] = layout
        else:
            data.pop("layout", None)
        data.setdefault("pricing_basis", project.default_pricing_basis)

        unit = Unit(
            project=project, **{k: v for k, v in data.items() if v is not None or k == "building"}
        )
        if not unit.number and building is not None and {"floor", "room"} <= data.keys():
            unit.number = unit_number(building, unit.stair, unit.floor, unit.room)
        _check_rules(unit, data, problem)

        if building is not None and {"floor", "room"} <= data.keys():
            position = (building.pk, unit.stair, unit.floor, unit.room)
            where = f"{building.name} {unit.stair}单元 {unit.floor}层 {unit.room}"
            if position in seen_positions:
                problem(
                    "room",
                    _("与第 %(row)d 行是同一位置（%(where)s）")
                    % {"row": seen_positions[position], "where": where},
                )
            elif position in existing_positions:
                problem(
                    "room",
                    _("本项目该位置（%(where)s）已有房间 %(number)s")
                    % {"where": where, "number": existing_positions[position]},
                )
            else:
                seen_positions[position] = row_number
        if unit.number and "number" not in problem.bad:
            if unit.number in seen_numbers:
                problem(
                    "number",
                    _("房间 %(number)s 与第 %(row)d 行重复")
                    % {"number": unit.number, "row": seen_numbers[unit.number]},
                )
            elif unit.number in existing_numbers:
                problem("number", _("房间 %(number)s 已存在于本项目") % {"number": unit.number})
            else:
                seen_numbers[unit.number] = row_number

        if problem:
            problems.extend(problem.problems)
        else:
            result.items.append(unit)
    return result.finish(problems, FORMAT)


def _check_rules(unit: Unit, data: dict, problem: RowProblems) -> None:
    """The unit rules (services.unit_check, shared with unit_create) and the model's
    field validation, reported per column; a field whose cell is already wrong is not
    reported twice."""
    if (
        unit.internal_area is not None
        and unit.shared_area is not None
        and "gross_area" in data
        and abs(unit.internal_area + unit.shared_area - unit.gross_area) > Decimal("0.05")
    ):
        problem(
            "shared_area",
            _("套内面积 %(internal)s + 分摊面积 %(shared)s ≠ 建筑面积 %(gross)s")
            % {
                "internal": unit.internal_area,
                "shared": unit.shared_area,
                "gross": unit.gross_area,
            },
        )
    try:
        unit_check(unit)
    except DomainError as exc:
        problem.add_error(exc)
    # The cell parser already checked each column's type, length, digits and choices;
    # the model validates the rest (a derived number's length, the other fields) cheaply.
    exclude = ["project", "building", "layout", "attached_to", *problem.bad, *PARSED_FIELDS]
    if not unit.number:  # not derivable: the building, floor or room is already reported
        exclude.append("number")
    try:
        unit.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        problem.add_error(DomainError.from_validation_error(exc))


# --- committing ---------------------------------------------------------------------


def units_import(*, actor, project: Project, file, file_name: str = "") -> ImportResult:
    """Import every row of the file or none (issue Inventory: "commits only when the whole
    file is valid: all rows or none").

    Needs ``unit.change``. The file is read again here, inside the transaction that
    writes, under a lock on the project row, so a unit created since the preview, or a
    second import running at the same moment, is caught (and the database's unique
    constraints stay the last word). Raises ``ImportInvalid`` with every problem.
    """
    require_perm(actor, "unit.change", project)

    def write(result):
        created = services.units_bulk_insert(actor=actor, project=project, units=result.units)
        summary = result.summary()
        return {
            "buildings": {b["name"]: b["units"] for b in summary["buildings"]},
            "total_area": summary["total_area"],
            "total_list_price": summary["total_list_price"],
            "unit_id_range": [min(u.pk for u in created), max(u.pk for u in created)],
        }

    return xlsx.import_all_or_none(
        actor=actor,
        project=project,
        fmt=FORMAT,
        read=lambda: read_units(project=project, file=file, user=actor, file_name=file_name),
        write=write,
        conflict=gettext_lazy("导入时发现房间已被他人录入，请重新上传预览。"),
        object_type="inventory.unit",
        label=gettext_lazy("导入房源 %(count)d 套"),
        action="unit_import",
    )


# --- writing ------------------------------------------------------------------------


def _cell_value(unit: Unit, column: Column):
    if column.field == "building":
        return unit.building.name
    if column.field == "layout":
        return unit.layout.name if unit.layout_id else None
    value = getattr(unit, column.field)
    if column.kind == "choice":
        return xlsx.zh_label(column.choices, value) or None
    if column.kind == "bool":
        return xlsx.YES if value else xlsx.NO
    if value == "":
        return None
    return value


def _help_rows(columns, project) -> list[tuple[tuple, bool]]:
    """(cells, is a title row) of the explanation sheet."""
    notes = (
        "同一楼栋、单元、楼层、房号只能有一行；房间编号在项目内唯一，已存在的房间不能重复导入。",
        "金额与面积保留两位小数（四舍五入）。导入的房间状态为“未推”，推盘后才可销售。",
    )
    extra = []
    if project is not None:
        buildings = list(Building.objects.filter(project=project).values_list("name", flat=True))
        layouts = list(Layout.objects.filter(project=project).values_list("name", flat=True))
        extra = [
            ((), False),
            (("本项目楼栋", "", "、".join(buildings) or "（尚未建立楼栋）"), True),
            (("本项目户型", "", "、".join(layouts) or "（尚未建立户型）"), True),
        ]
    return xlsx.help_rows(FORMAT, columns, notes, extra)


def units_template(*, actor, project: Project) -> bytes:
    """The empty template (needs ``unit.change``): header, one example row, explanations.
    The 底价 column is there only for users who may see floor prices."""
    require_perm(actor, "unit.change", project)
    columns = columns_for(floor_price=can_see_floor_price(actor, project))
    example = []
    first_building = Building.objects.filter(project=project).values_list("name", flat=True).first()
    first_layout = Layout.objects.filter(project=project).values_list("name", flat=True).first()
    for column in columns:
        value = column.example
        if column.field == "building" and first_building:
            value = first_building
        if column.field == "layout" and first_layout:
            value = first_layout
        example.append(value if value != "" else None)
    workbook = xlsx.build_workbook(
        DATA_SHEET, columns, [example], help=_help_rows(columns, project), template=True
    )
    return xlsx.save(workbook)


def export_queryset(*, user, project: Project):
    return (
        Unit.objects.restrict(user, "view")
        .filter(project=project)
        .select_related("building", "layout")
        .order_by("building__sort_order", "building__name", "stair", "floor", "room")
    )


def units_export(*, actor, project: Project) -> tuple[bytes, int]:
    """Every unit of the project in the import format (needs ``unit.export``; audited).
    The 底价 column is written only for viewers who may see floor prices."""
    require_perm(actor, "unit.export", project)
    floor_price = can_see_floor_price(actor, project)
    columns = columns_for(floor_price=floor_price)
    units = export_queryset(user=actor, project=project)
    return xlsx.export_audited(
        actor=actor,
        project=project,
        what="inventory.unit",
        sheet=DATA_SHEET,
        columns=columns,
        rows=([_cell_value(unit, c) for c in columns] for unit in units.iterator(chunk_size=2000)),
        filters={"floor_price": floor_price},
        help=_help_rows(columns, project),
    )


def export_filename(project: Project, kind: str = "房源") -> str:
    return xlsx.export_filename(project, kind)


UNITS = xlsx.ImportSpec(
    perm="unit.change",
    read=read_units,
    commit=units_import,
    template=units_template,
    template_name="房源导入模板",
)
