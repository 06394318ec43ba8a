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

Malformed input (not a zip, an old .xls, random bytes, a .docx, a zip bomb, an empty
sheet, wrong headers) is refused with a Chinese message, never a 500.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import zipfile
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from loupan.accounts.access import require_perm
from loupan.audit.models import AuditAction
from loupan.audit.services import audit_export, audit_record
from loupan.core.errors import DomainError, ErrorCode
from loupan.core.masking import can_see_floor_price
from loupan.core.money import money, to_decimal

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

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATA_SHEET = "房源"
HELP_SHEET = "填写说明"
EXAMPLE_NOTE = "示例行，导入前请删除"
YES, NO = "是", "否"


def max_bytes() -> int:
    return int(getattr(settings, "LOUPAN_IMPORT_MAX_BYTES", 10 * 1024 * 1024))


def max_rows() -> int:
    return int(getattr(settings, "LOUPAN_IMPORT_MAX_ROWS", 20000))


def max_uncompressed() -> int:
    """An xlsx is a zip: refuse one that inflates beyond this (a zip bomb)."""
    return int(getattr(settings, "LOUPAN_IMPORT_MAX_UNCOMPRESSED", 200 * 1024 * 1024))


# --- the format ---------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    field: str
    header: str
    kind: str  # text | stair | floor | room | area | money | choice | bool
    required: bool = False
    choices: type | None = None
    help: str = ""
    example: object = None
    width: int = 10
    aliases: tuple = ()


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
REQUIRED_HEADERS = [c.header for c in COLUMNS if c.required]


def _norm_header(value) -> str:
    """Headers as people type them: 建筑面积（㎡）, *楼栋, 表价(元) all match."""
    text = str(value or "").strip()
    text = re.sub(r"[（(][^）)]*[）)]", "", text)
    return re.sub(r"[\s*＊:：]", "", text)


HEADER_LOOKUP: dict[str, Column] = {}
for _col in COLUMNS:
    for _name in (_col.header, *_col.aliases):
        HEADER_LOOKUP[_norm_header(_name)] = _col

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
BOOL_VALUES = {
    "是": True,
    "否": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "可售": True,
    "不可售": False,
}


def zh_label(choices, value) -> str:
    """A choice's Chinese label whatever the viewer's language (the format is Chinese)."""
    if not value:
        return ""
    with translation.override("zh-hans"):
        return str(choices(value).label)


def zh_labels(choices) -> list[str]:
    with translation.override("zh-hans"):
        return [str(label) for _value, label in choices.choices]


def _choice_map(column: Column) -> dict[str, str]:
    with translation.override("zh-hans"):
        mapping = {str(label): value for value, label in column.choices.choices}
    mapping.update({value.lower(): value for value in column.choices.values})
    mapping.update(CHOICE_ALIASES.get(column.field, {}))
    return mapping


def columns_for(*, floor_price: bool) -> list[Column]:
    return [c for c in COLUMNS if floor_price or c.field != "floor_price"]


# --- problems and results -----------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem of the file: the row as Excel shows it, the column header, the reason."""

    row: int | None
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class ImportResult:
    units: list[Unit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0
    file_name: str = ""
    sha256: str = ""

    @property
    def valid(self) -> bool:
        return not self.problems and self.rows > 0

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

    def reasons(self) -> list[tuple[str, str, int]]:
        """(column, reason without the value, count): the big picture of a bad file."""
        counts = Counter(
            (p.column, re.sub(r"「[^」]*」", "「…」", p.message)) for p in self.problems
        )
        return [(c, m, n) for (c, m), n in counts.most_common()]


class ImportFileError(DomainError):
    """The file cannot be read as the units workbook at all (nothing was written)."""

    def __init__(self, message):
        super().__init__(ErrorCode.INVALID, message, {"file": [message]})


class ImportInvalid(DomainError):
    """The file was read but has problems; all rows are refused (nothing was written)."""

    def __init__(self, result: ImportResult):
        self.result = result
        count = len(result.problems)
        message = _("导入文件有 %(count)d 处问题，未导入任何房间。") % {"count": count}
        super().__init__(ErrorCode.INVALID, message)


# --- reading ------------------------------------------------------------------------


def _as_file(file):
    """A seekable binary file from bytes, a path, a Django upload or a file object."""
    if isinstance(file, bytes | bytearray):
        return io.BytesIO(file)
    if isinstance(file, str):
        return open(file, "rb")  # noqa: SIM115 - read_units closes it
    if hasattr(file, "open") and hasattr(file, "chunks") and not hasattr(file, "seek"):
        file.open("rb")
    return file


def _file_size(fh) -> int:
    fh.seek(0, io.SEEK_END)
    size = fh.tell()
    fh.seek(0)
    return size


def _sha256(fh) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: fh.read(1024 * 1024), b""):
        digest.update(chunk)
    fh.seek(0)
    return digest.hexdigest()


def check_container(fh, name: str = "") -> None:
    """Refuse what is not an xlsx before openpyxl sees it, with the reason in Chinese."""
    size = _file_size(fh)
    limit = max_bytes()
    if size == 0:
        raise ImportFileError(_("文件是空的。"))
    if size > limit:
        raise ImportFileError(
            _("文件过大（%(size)s MB），上限为 %(limit)s MB。")
            % {"size": f"{size / 1048576:.1f}", "limit": f"{limit / 1048576:g}"}
        )
    if name and not name.lower().endswith((".xlsx", ".xlsm")):
        raise ImportFileError(
            _("请上传 Excel 的 .xlsx 文件（收到的是“%(name)s”）。") % {"name": name[-60:]}
        )
    head = fh.read(8)
    fh.seek(0)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _(
                "这是旧版 Excel（.xls）文件或已加密的文件，请在 Excel 中“另存为” .xlsx 格式（不设密码）后再上传。"
            )
        )
    if not zipfile.is_zipfile(fh):
        fh.seek(0)
        raise ImportFileError(
            _("文件不是有效的 Excel（.xlsx）文件，可能是 CSV、文本或改了扩展名的其他文件。")
        )
    fh.seek(0)
    try:
        with zipfile.ZipFile(fh) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ImportFileError(_("文件已损坏，无法读取。")) from exc
    finally:
        fh.seek(0)
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        raise ImportFileError(
            _("文件不是 Excel 工作簿（可能是 Word、WPS 文字或其他压缩文件），请上传 .xlsx 文件。")
        )
    if sum(info.file_size for info in infos) > max_uncompressed():
        raise ImportFileError(_("文件解压后过大，无法导入。"))


def _read_rows(fh) -> list[tuple[int, tuple]]:
    """Every non-empty row of the units sheet as (Excel row number, values)."""
    from openpyxl import load_workbook

    limit = max_rows()
    rows: list[tuple[int, tuple]] = []
    try:
        workbook = load_workbook(fh, read_only=True, data_only=True)
    except Exception as exc:  # untrusted input: any parser failure is "unreadable"
        raise ImportFileError(_("文件已损坏或不是有效的 .xlsx 文件，无法读取。")) from exc
    try:
        sheets = workbook.worksheets
        if not sheets:
            raise ImportFileError(_("文件中没有工作表。"))
        sheet = next((s for s in sheets if s.title.strip() == DATA_SHEET), sheets[0])
        sheet.reset_dimensions()  # some writers store a wrong size: read every row
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            if all(_blank(v) for v in values):
                continue
            rows.append((number, tuple(values)))
            # Enough to know the limit is exceeded (the header may be up to ten rows down).
            if len(rows) > limit + 11:
                break
    except ImportFileError:
        raise
    except Exception as exc:  # a broken sheet XML inside a valid zip
        raise ImportFileError(_("文件已损坏或不是有效的 .xlsx 文件，无法读取。")) from exc
    finally:
        workbook.close()
    return rows


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _find_header(rows) -> int:
    """Index in ``rows`` of the header: the first of the first ten rows naming 楼栋 (a
    title row above the table is allowed), else the first row."""
    for index, (_number, values) in enumerate(rows[:10]):
        if any(HEADER_LOOKUP.get(_norm_header(v)) is COLUMN_BY_FIELD["building"] for v in values):
            return index
    return 0


class _CellError(Exception):
    pass


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        value = YES if value else NO
    return str(value).strip()


_UNIT_SUFFIX = re.compile(r"(㎡|m²|m2|平方米|平米|平|元/㎡|元)$", re.IGNORECASE)


def _decimal(value) -> Decimal:
    if isinstance(value, bool):
        raise _CellError(_("「%(value)s」不是数字") % {"value": _text(value)})
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise _CellError(_("不是数字"))
        value = repr(value)  # the shortest decimal that is this float: 89.5 stays 89.5
    if isinstance(value, str):
        value = _UNIT_SUFFIX.sub("", value.strip()).strip()
    try:
        number = to_decimal(value)
    except (ValueError, TypeError) as exc:
        raise _CellError(_("「%(value)s」不是数字") % {"value": _text(value)[:30]}) from exc
    if not number.is_finite():
        raise _CellError(_("「%(value)s」不是数字") % {"value": _text(value)[:30]})
    return money(number)


def _integer(value) -> int:
    if isinstance(value, bool):
        raise _CellError(_("必须是整数"))
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise _CellError(_("必须是整数"))
    text = str(value).strip()
    if re.fullmatch(r"[+-]?\d+(\.0+)?", text):
        return int(float(text)) if "." in text else int(text)
    raise _CellError(_("「%(value)s」不是整数") % {"value": text[:30]})


def _max_for(name: str) -> Decimal:
    model_field = Unit._meta.get_field(name)
    return Decimal(10) ** (model_field.max_digits - model_field.decimal_places)


def _parse_cell(column: Column, value, choice_maps):
    """One cell's value for the model, or _CellError with the Chinese reason."""
    kind = column.kind
    if kind == "text":
        text = _text(value)
        max_length = (
            Unit._meta.get_field(column.field).max_length
            if column.field not in ("building", "layout")
            else None
        )
        if max_length and len(text) > max_length:
            raise _CellError(_("最多 %(n)d 个字符") % {"n": max_length})
        return text
    if kind == "stair":
        number = _integer(value)
        if number < 1 or number > 999:
            raise _CellError(_("必须是 1 到 999 的整数"))
        return number
    if kind == "floor":
        text = _text(value).upper()
        match = re.fullmatch(r"(?:B|地下)(\d+)层?", text)
        number = -int(match.group(1)) if match else _integer(value)
        if number == 0:
            raise _CellError(_("楼层不能为 0"))
        if not -99 <= number <= 300:
            raise _CellError(_("楼层超出范围"))
        return number
    if kind == "room":
        if isinstance(value, int | float) and not isinstance(value, bool):
            number = _integer(value)
            text = f"{number:02d}"
        else:
            text = _text(value)
        if len(text) > Unit._meta.get_field("room").max_length:
            raise _CellError(
                _("最多 %(n)d 个字符") % {"n": Unit._meta.get_field("room").max_length}
            )
        return text
    if kind == "area":
        number = _decimal(value)
        if column.field == "shared_area":
            if number < 0:
                raise _CellError(_("不能为负数"))
        elif number <= 0:
            raise _CellError(_("必须是大于 0 的数"))
        if number >= _max_for(column.field):
            raise _CellError(_("数值过大"))
        return number
    if kind == "money":
        number = _decimal(value)
        if number < 0:
            raise _CellError(_("不能为负数"))
        if number >= _max_for(column.field):
            raise _CellError(_("数值过大"))
        return number
    if kind == "choice":
        text = _text(value)
        mapping = choice_maps[column.field]
        found = mapping.get(text) or mapping.get(text.lower())
        if found is None:
            raise _CellError(
                _("「%(value)s」不是有效的%(name)s，可选：%(allowed)s")
                % {
                    "value": text[:30],
                    "name": column.header,
                    "allowed": "、".join(zh_labels(column.choices)),
                }
            )
        return found
    if kind == "bool":
        text = _text(value).lower()
        if text not in BOOL_VALUES:
            raise _CellError(
                _("「%(value)s」无效，只能填写 是 或 否") % {"value": _text(value)[:30]}
            )
        return BOOL_VALUES[text]
    raise AssertionError(kind)


def _header_problems(header_number, header_values, *, floor_price_allowed):
    """Map header cells to columns; problems for unknown, duplicate and missing ones."""
    problems = []
    index_of: dict[str, int] = {}
    for index, raw in enumerate(header_values):
        if _blank(raw):
            continue
        column = HEADER_LOOKUP.get(_norm_header(raw))
        label = _text(raw)
        if column is None:
            problems.append(Problem(header_number, label, _("无法识别的列名；请使用模板中的列名")))
        elif column.field in index_of:
            problems.append(Problem(header_number, label, _("列名重复")))
        else:
            index_of[column.field] = index
    for column in COLUMNS:
        if column.required and column.field not in index_of:
            problems.append(Problem(header_number, column.header, _("缺少必填列")))
    if "floor_price" in index_of and not floor_price_allowed:
        index_of["_floor_price_forbidden"] = index_of.pop("floor_price")
    return index_of, problems


def _lookup(mapping: dict, name: str):
    """Exact name first; otherwise a unique case-insensitive match (a1 → A1)."""
    if name in mapping:
        return mapping[name]
    folded = [obj for key, obj in mapping.items() if key.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


def read_units(*, project: Project, file, user=None, file_name: str = "") -> ImportResult:
    """Read and check the whole file; every problem is collected, nothing is written.

    ``file`` is bytes, a path or a (Django) file object. Raises ``ImportFileError`` when
    the file cannot be read as the units workbook at all.
    """
    fh = _as_file(file)
    try:
        return _read(project, fh, user, file_name or getattr(file, "name", "") or "")
    finally:
        if fh is not file:
            fh.close()


def _read(project: Project, fh, user, file_name: str) -> ImportResult:
    check_container(fh, file_name)
    result = ImportResult(file_name=file_name.rsplit("/", 1)[-1], sha256=_sha256(fh))
    rows = _read_rows(fh)
    if not rows:
        raise ImportFileError(_("工作表是空的：第一行应为表头，从第二行起每行一个房间。"))
    header_at = _find_header(rows)
    header_number, header_values = rows[header_at]
    floor_price_allowed = user is None or can_see_floor_price(user, project)
    index_of, problems = _header_problems(
        header_number, header_values, floor_price_allowed=floor_price_allowed
    )
    data_rows = rows[header_at + 1 :]
    if problems and not any(c.field in index_of for c in COLUMNS if c.required):
        # Not the units table at all (wrong sheet, wrong file): say so once, clearly.
        raise ImportFileError(
            _("第 %(row)d 行不是房源表的表头：必须包含 %(required)s 等列，请使用下载的模板。")
            % {"row": header_number, "required": "、".join(REQUIRED_HEADERS)}
        )
    if not data_rows:
        raise ImportFileError(_("文件中没有房间数据：表头下方至少需要一行。"))
    if len(data_rows) > max_rows():
        raise ImportFileError(
            _("行数超过上限：一次最多导入 %(limit)d 行，请分批导入。") % {"limit": max_rows()}
        )
    result.rows = len(data_rows)
    forbidden_at = index_of.pop("_floor_price_forbidden", None)
    if forbidden_at is not None and any(
        forbidden_at < len(v) and not _blank(v[forbidden_at]) for _n, v in data_rows
    ):
        problems.append(
            Problem(
                header_number,
                COLUMN_BY_FIELD["floor_price"].header,
                _("您没有查看底价的权限，不能导入底价；请删除此列或清空其内容"),
            )
        )
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
    choice_maps = {c.field: _choice_map(c) for c in COLUMNS if c.kind == "choice"}
    seen_numbers: dict[str, int] = {}
    seen_positions: dict[tuple, int] = {}
    header = {c.field: c.header for c in COLUMNS}

    for row_number, values in data_rows:
        row_problems: list[Problem] = []
        bad_fields: set[str] = set()
        data: dict = {}

        def problem(field_name, message, _row=row_number, _list=row_problems, _bad=bad_fields):
            _list.append(Problem(_row, header.get(field_name, ""), str(message)))
            _bad.add(field_name)

        for column in COLUMNS:
            index = index_of.get(column.field)
            raw = values[index] if index is not None and index < len(values) else None
            if _blank(raw):
                if column.required:
                    problem(column.field, _("必须填写"))
                continue
            try:
                data[column.field] = _parse_cell(column, raw, choice_maps)
            except _CellError as exc:
                problem(column.field, exc.args[0])

        if data.get("note") == EXAMPLE_NOTE:
            problem("note", _("这是模板中的示例行，请删除后再导入"))
        building = None
        if "building" in data:
            building = _lookup(buildings, data["building"])
            if building is None:
                problem(
                    "building",
                    _("楼栋「%(name)s」不存在，请先在项目中建立该楼栋")
                    % {"name": data["building"]},
                )
        data["building"] = building
        if data.get("layout"):
            layout = _lookup(layouts, data["layout"])
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
        _check_rules(unit, data, problem, bad_fields)

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
        if unit.number and "number" not in bad_fields:
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

        if row_problems:
            problems.extend(row_problems)
        else:
            result.units.append(unit)

    order = {c.header: i for i, c in enumerate(COLUMNS)}
    problems.sort(key=lambda p: (p.row or 0, order.get(p.column, 99)))
    result.problems = problems
    if problems:
        result.units = []
    return result


def _check_rules(unit: Unit, data: dict, problem, bad_fields: set) -> None:
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
        for name, reasons in exc.fields.items():
            if name not in bad_fields:
                for reason in reasons:
                    problem(name, reason)
    # The cell parser already checked each column's type, length, digits and choices;
    # the model validates the rest (a derived number's length, the other fields) cheaply.
    exclude = ["project", "building", "layout", "attached_to", *bad_fields, *PARSED_FIELDS]
    if not unit.number:  # not derivable: the building, floor or room is already reported
        exclude.append("number")
    try:
        unit.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            if name not in bad_fields:
                for message in messages:
                    problem(name, message)


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
    with transaction.atomic():
        # One import per project at a time (SQLite's IMMEDIATE transactions serialize anyway).
        list(Project.objects.select_for_update().filter(pk=project.pk).values_list("pk"))
        result = read_units(project=project, file=file, user=actor, file_name=file_name)
        if not result.valid:
            raise ImportInvalid(result)
        units = result.units
        try:
            with transaction.atomic():
                created = services.units_bulk_insert(actor=actor, project=project, units=units)
        except IntegrityError as exc:
            raise DomainError(
                ErrorCode.CONFLICT, _("导入时发现房间已被他人录入，请重新上传预览。")
            ) from exc
        summary = result.summary()
        audit_record(
            actor=actor,
            action=AuditAction.ACTION,
            project_id=project.pk,
            object_type="inventory.unit",
            object_repr=_("导入房源 %(count)d 套") % {"count": len(created)},
            extra={
                "action": "unit_import",
                "rows": len(created),
                "file": result.file_name,
                "sha256": result.sha256,
                "buildings": {b["name"]: b["units"] for b in summary["buildings"]},
                "total_area": summary["total_area"],
                "total_list_price": summary["total_list_price"],
                "unit_id_range": [min(u.pk for u in created), max(u.pk for u in created)],
            },
        )
    return result


# --- writing ------------------------------------------------------------------------


def _cell_value(unit: Unit, column: Column):
    value = getattr(unit, column.field) if column.field not in ("building", "layout") else None
    if column.field == "building":
        return unit.building.name
    if column.field == "layout":
        return unit.layout.name if unit.layout_id else None
    if column.kind == "choice":
        return zh_label(column.choices, value) or None
    if column.kind == "bool":
        return YES if value else NO
    if value == "":
        return None
    return value


NUMBER_FORMATS = {"area": "0.00", "money": "#,##0.00", "stair": "0", "floor": "0", "room": "@"}


def _workbook(columns, rows, *, project, write_only: bool):
    """The units sheet (header + rows) and the explanation sheet. Write-only for exports
    (any size, little memory); the template also gets header comments and drop-downs."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook(write_only=write_only)
    if write_only:
        sheet = workbook.create_sheet(DATA_SHEET)
    else:
        sheet = workbook.active
        sheet.title = DATA_SHEET
    for index, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = column.width + 2
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    fills = {
        True: PatternFill("solid", fgColor="FCE4D6"),
        False: PatternFill("solid", fgColor="DDEBF7"),
    }

    header = []
    for column in columns:
        cell = WriteOnlyCell(sheet, value=column.header)
        cell.font = bold
        cell.fill = fills[column.required]
        header.append(cell)
    sheet.append(header)
    for values in rows:
        cells = []
        for column, value in zip(columns, values, strict=True):
            cell = WriteOnlyCell(sheet, value=value)
            if column.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.kind]
            cells.append(cell)
        sheet.append(cells)

    if not write_only:
        last = max_rows() + 1
        for index, column in enumerate(columns, start=1):
            letter = get_column_letter(index)
            note = f"{'必填。' if column.required else ''}{column.help}"
            sheet.cell(row=1, column=index).comment = Comment(note, "Loupan", width=240, height=90)
            if column.kind in ("choice", "bool"):
                allowed = zh_labels(column.choices) if column.kind == "choice" else [YES, NO]
                validation = DataValidation(
                    type="list", formula1='"' + ",".join(allowed) + '"', allow_blank=True
                )
                validation.errorTitle = column.header
                validation.error = "请从下拉列表中选择：" + "、".join(allowed)
                validation.add(f"{letter}2:{letter}{last}")
                sheet.add_data_validation(validation)
            if column.kind == "room":  # text, so that 02 keeps its leading zero
                for row_index in range(2, 502):
                    sheet.cell(row=row_index, column=index).number_format = "@"

    help_sheet = workbook.create_sheet(HELP_SHEET)
    for index, width in enumerate((14, 8, 60, 50), start=1):
        help_sheet.column_dimensions[get_column_letter(index)].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    for values, is_title in _help_rows(columns, project):
        cells = []
        for value in values:
            cell = WriteOnlyCell(help_sheet, value=value)
            cell.alignment = wrap
            if is_title:
                cell.font = bold
            cells.append(cell)
        help_sheet.append(cells)
    return workbook


def _help_rows(columns, project) -> list[tuple[tuple, bool]]:
    """(cells, is a title row) of the explanation sheet."""
    rows: list[tuple[tuple, bool]] = [(("列名", "必填", "说明", "可选值"), True)]
    for column in columns:
        if column.kind == "choice":
            allowed = "、".join(zh_labels(column.choices))
        elif column.kind == "bool":
            allowed = f"{YES}、{NO}"
        else:
            allowed = ""
        rows.append(((column.header, YES if column.required else "", column.help, allowed), False))
    rows.append(((), False))
    rows.append((("说明",), True))
    for text in (
        f"第一个工作表“{DATA_SHEET}”的第一行是表头，从第二行起每行一个房间；列的顺序可以调整，列名须与模板一致。",
        "整个文件全部正确才会导入：预览页列出每一处问题（行、列、原因），修改后重新上传。",
        f"一次最多 {max_rows()} 行，文件不超过 {max_bytes() / 1048576:g} MB；请勿合并单元格。",
        "同一楼栋、单元、楼层、房号只能有一行；房间编号在项目内唯一，已存在的房间不能重复导入。",
        "金额与面积保留两位小数（四舍五入）。导入的房间状态为“未推”，推盘后才可销售。",
        f"模板第二行是示例，备注为“{EXAMPLE_NOTE}”，导入前请删除该行。",
    ):
        rows.append((("", "", text), False))
    if project is not None:
        rows.append(((), False))
        names = list(Building.objects.filter(project=project).values_list("name", flat=True))
        rows.append((("本项目楼栋", "", "、".join(names) or "（尚未建立楼栋）"), True))
        names = list(Layout.objects.filter(project=project).values_list("name", flat=True))
        rows.append((("本项目户型", "", "、".join(names) or "（尚未建立户型）"), True))
    return rows


def _save(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


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
    return _save(_workbook(columns, [example], project=project, write_only=False))


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
    count = 0

    def rows():
        nonlocal count
        for unit in units.iterator(chunk_size=2000):
            count += 1
            yield [_cell_value(unit, c) for c in columns]

    content = _save(_workbook(columns, rows(), project=project, write_only=True))
    with transaction.atomic():
        audit_export(
            actor=actor,
            what="inventory.unit",
            count=count,
            project_id=project.pk,
            filters={"format": "xlsx", "floor_price": floor_price},
        )
    return content, count


def export_filename(project: Project, kind: str = "房源") -> str:
    return f"{project.code}-{kind}-{timezone.localdate():%Y%m%d}.xlsx"
