"""The units import and export (issue Inventory): the whole error matrix, all-or-nothing,
the round trip, malformed files, floor-price visibility and permissions."""

import io
import threading
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.db import connection

from loupan.accounts.models import User
from loupan.audit.models import AuditAction, AuditEntry
from loupan.core.errors import DomainError, ErrorCode
from loupan.inventory import imports, services
from loupan.inventory.imports import ImportFileError, ImportInvalid, Problem, read_units
from loupan.inventory.models import Project, Unit, UnitPriceChange, UnitStatus

from . import import_helpers as helpers
from .import_helpers import (
    HEADERS,
    fresh_project,
    good_row,
    header_row,
    make_user_with,
    many_rows,
    setup_project,
    xlsx,
)

# the fixtures of import_helpers
chw = helpers.chw

USE_LABELS = "住宅、商铺、车位、储藏室、公寓"
ORIENTATION_LABELS = "南、北、东、西、东南、西南、东北、西北、南北通透、东西"


def read(data, content, user=None):
    return read_units(project=data["project"], file=content, user=user, file_name="房源.xlsx")


# --- a valid file -----------------------------------------------------------------------


def test_valid_file_is_read_into_units(chw):
    rows = [
        good_row(),
        good_row(
            楼栋="T2栋",
            单元=None,
            楼层="B1",
            房号=3,
            用途="车位",
            建筑面积="12.5",
            套内面积=None,
            分摊面积=None,
            朝向=None,
            景观=None,
            装修=None,
            计价方式="按套",
            单价="120,000",
            表价="120000元",
            底价=100000,
            户型=None,
            可售="否",
            不可售原因="人防车位，只租不售",
        ),
    ]
    result = read(chw, xlsx(rows))
    assert result.problems == []
    assert result.valid and result.rows == 2
    home, parking = result.units
    assert home.number == "T1栋1单元201"  # two stairs: the stair is part of the number
    assert home.building == chw["t1"] and home.layout == chw["a1"]
    assert (home.gross_area, home.internal_area, home.shared_area) == (
        Decimal("89.50"),
        Decimal("72.30"),
        Decimal("17.20"),
    )
    assert (home.orientation, home.fit_out, home.pricing_basis, home.use) == (
        "S",
        "shell",
        "gross_area",
        "residential",
    )
    assert (home.unit_price, home.list_price, home.floor_price) == (
        Decimal("15000.00"),
        Decimal("1342500.00"),
        Decimal("1300000.00"),
    )
    assert home.sellable is True and home.view == "湖景"
    assert parking.number == "T2栋B103" and parking.floor == -1 and parking.room == "03"
    assert parking.stair == 1 and parking.use == "parking" and parking.pricing_basis == "per_unit"
    assert parking.unit_price == Decimal("120000.00") and parking.list_price == Decimal("120000.00")
    assert parking.sellable is False and parking.unsellable_reason == "人防车位，只租不售"
    summary = result.summary()
    assert summary["rows"] == 2
    assert summary["total_area"] == Decimal("102.00")
    assert summary["total_list_price"] == Decimal("1462500.00")
    assert [b["name"] for b in summary["buildings"]] == ["T1栋", "T2栋"]


def test_explicit_number_headers_in_any_order_and_with_units(chw):
    headers = ["*楼栋", "房号", "楼层", "建筑面积（㎡）", "表价(元)", "房间编号", "可售"]
    content = xlsx(
        [
            {
                "*楼栋": "T2栋",
                "房号": "05",
                "楼层": 7,
                "建筑面积（㎡）": "95.456",
                "表价(元)": 1000000,
                "房间编号": "T2-0705",
                "可售": "是",
            }
        ],
        headers,
    )
    result = read(chw, content)
    assert result.problems == []
    (unit,) = result.units
    assert unit.number == "T2-0705"
    assert unit.gross_area == Decimal("95.46")  # rounded half up to two places
    assert unit.pricing_basis == chw["project"].default_pricing_basis


def test_title_row_and_blank_rows_keep_excel_row_numbers(chw):
    rows = [good_row(), good_row(楼层=3), good_row(楼层=4, 建筑面积="abc")]
    content = xlsx(rows, title_rows=["锦城·翠湖湾 房源表"], blank_rows_after=(0,))
    result = read(chw, content)
    # title row 1, header row 2, data rows 3, (blank 4), 5, 6
    assert result.rows == 3
    assert result.problems == [Problem(6, "建筑面积", "「abc」不是数字")]


# --- the error matrix -------------------------------------------------------------------

MATRIX = [
    ({"楼栋": None}, "楼栋", "必须填写"),
    ({"楼层": None}, "楼层", "必须填写"),
    ({"房号": "  "}, "房号", "必须填写"),
    ({"建筑面积": None}, "建筑面积", "必须填写"),
    ({"楼栋": "99栋"}, "楼栋", "楼栋「99栋」不存在，请先在项目中建立该楼栋"),
    ({"户型": "Z9"}, "户型", "户型「Z9」不存在，请先在户型库中添加"),
    ({"建筑面积": 0, "套内面积": None, "分摊面积": None}, "建筑面积", "必须是大于 0 的数"),
    ({"建筑面积": -3.5, "套内面积": None, "分摊面积": None}, "建筑面积", "必须是大于 0 的数"),
    ({"套内面积": 0, "分摊面积": None}, "套内面积", "必须是大于 0 的数"),
    ({"分摊面积": -1}, "分摊面积", "不能为负数"),
    ({"建筑面积": "八十九"}, "建筑面积", "「八十九」不是数字"),
    ({"单价": "abc"}, "单价", "「abc」不是数字"),
    ({"表价": "1.2.3"}, "表价", "「1.2.3」不是数字"),
    ({"楼层": "十五"}, "楼层", "「十五」不是整数"),
    ({"楼层": 1.5}, "楼层", "必须是整数"),
    ({"楼层": 0}, "楼层", "楼层不能为 0"),
    ({"单元": 0}, "单元", "必须是 1 到 999 的整数"),
    ({"套内面积": 95, "分摊面积": None}, "套内面积", "套内面积不能大于建筑面积"),
    (
        {"套内面积": 70, "分摊面积": 10},
        "分摊面积",
        "套内面积 70.00 + 分摊面积 10.00 ≠ 建筑面积 89.50",
    ),
    ({"表价": 1200000, "底价": 1300000}, "表价", "表价低于底价"),
    ({"单价": -1}, "单价", "不能为负数"),
    ({"底价": -100}, "底价", "不能为负数"),
    ({"表价": 10**12}, "表价", "数值过大"),
    ({"用途": "别墅"}, "用途", f"「别墅」不是有效的用途，可选：{USE_LABELS}"),
    ({"朝向": "上"}, "朝向", f"「上」不是有效的朝向，可选：{ORIENTATION_LABELS}"),
    ({"装修": "豪华"}, "装修", "「豪华」不是有效的装修，可选：毛坯、简装、精装、豪装"),
    (
        {"计价方式": "按斤"},
        "计价方式",
        "「按斤」不是有效的计价方式，可选：按建筑面积、按套内面积、按套",
    ),
    ({"可售": "也许"}, "可售", "「也许」无效，只能填写 是 或 否"),
    ({"可售": "否"}, "不可售原因", "标记为不可售时必须填写原因"),
    (
        {"计价方式": "按套内面积", "套内面积": None, "分摊面积": None},
        "套内面积",
        "按套内面积计价时必须填写套内面积",
    ),
    ({"景观": "湖" * 51}, "景观", "最多 50 个字符"),
    ({"房号": "1234567890A"}, "房号", "最多 10 个字符"),
    ({"备注": imports.EXAMPLE_NOTE}, "备注", "这是模板中的示例行，请删除后再导入"),
]


@pytest.mark.parametrize(("changes", "column", "reason"), MATRIX)
def test_each_problem_names_row_column_and_reason(chw, changes, column, reason):
    rows = [good_row(楼层=5), good_row(**changes)]
    result = read(chw, xlsx(rows))
    assert result.problems == [Problem(3, column, reason)]
    assert not result.valid and result.units == []


def test_duplicate_rows_within_the_file(chw):
    rows = [good_row(), good_row(楼层=3), good_row()]
    result = read(chw, xlsx(rows))
    assert result.problems == [
        Problem(4, "房号", "与第 2 行是同一位置（T1栋 1单元 2层 01）"),
        Problem(4, "房间编号", "房间 T1栋1单元201 与第 2 行重复"),
    ]


def test_duplicate_number_at_another_position(chw):
    rows = [good_row(房间编号="X-1"), good_row(楼层=3, 房间编号="X-1")]
    result = read(chw, xlsx(rows))
    assert result.problems == [Problem(3, "房间编号", "房间 X-1 与第 2 行重复")]


def test_unit_already_in_the_project(chw, demo):
    planner = demo["users"]["planner"]
    services.unit_create(
        actor=planner,
        project=chw["project"],
        data={
            "building": chw["t1"],
            "stair": 1,
            "floor": 2,
            "room": "01",
            "gross_area": Decimal("89.50"),
        },
    )
    services.unit_create(
        actor=planner,
        project=chw["project"],
        data={
            "building": chw["t1"],
            "stair": 2,
            "floor": 9,
            "room": "09",
            "number": "X-9",
            "gross_area": Decimal("89.50"),
        },
    )
    rows = [good_row(楼层=5), good_row(), good_row(楼层=6, 房间编号="X-9")]
    result = read(chw, xlsx(rows))
    assert result.problems == [
        Problem(3, "房号", "本项目该位置（T1栋 1单元 2层 01）已有房间 T1栋1单元201"),
        Problem(3, "房间编号", "房间 T1栋1单元201 已存在于本项目"),
        Problem(4, "房间编号", "房间 X-9 已存在于本项目"),
    ]


def test_all_problems_are_collected_not_the_first(chw):
    rows = [
        good_row(楼栋=None, 建筑面积="x", 用途="别墅"),  # row 2: three problems
        good_row(楼层=3),  # row 3: fine
        good_row(楼层=4, 户型="Z9", 可售="否"),  # row 4: two problems
        good_row(楼层=5, 表价=1, 底价=2),  # row 5: one
    ]
    result = read(chw, xlsx(rows))
    assert [(p.row, p.column) for p in result.problems] == [
        (2, "楼栋"),
        (2, "用途"),
        (2, "建筑面积"),
        (4, "户型"),
        (4, "不可售原因"),
        (5, "表价"),
    ]
    assert result.units == []
    reasons = dict(((c, m), n) for c, m, n in result.reasons())
    assert reasons[("楼栋", "必须填写")] == 1


def test_a_wrong_cell_is_not_reported_twice(chw):
    """A bad gross area does not also produce 'internal larger than gross' or 'required'."""
    result = read(chw, xlsx([good_row(建筑面积="abc")]))
    assert result.problems == [Problem(2, "建筑面积", "「abc」不是数字")]


# --- headers ------------------------------------------------------------------------------


def test_unknown_duplicate_and_missing_headers(chw):
    headers = ["楼栋", "楼层", "建筑面积", "价格", "楼层"]
    result = read(chw, xlsx([["T1栋", 2, 89.5, 1, 2]], headers))
    assert result.problems == [
        Problem(1, "价格", "无法识别的列名；请使用模板中的列名"),
        Problem(1, "楼层", "列名重复"),
        Problem(1, "房号", "缺少必填列"),
    ]


def test_a_sheet_that_is_not_the_units_table(chw):
    with pytest.raises(ImportFileError) as exc:
        read(chw, xlsx([["张三", "13800000000"]], ["客户", "电话"]))
    assert exc.value.code == ErrorCode.INVALID
    assert "不是房源表的表头" in str(exc.value.message)
    assert exc.value.fields == {"file": [str(exc.value.message)]}


def test_floor_price_needs_its_permission(chw, demo):
    entry = make_user_with(
        demo, chw["project"], "entry", ["project.view", "unit.view", "unit.change"]
    )
    result = read(chw, xlsx([good_row()]), user=entry)
    assert result.problems == [
        Problem(1, "底价", "您没有查看底价的权限，不能导入底价；请删除此列或清空其内容")
    ]
    assert read(chw, xlsx([good_row(底价=None)]), user=entry).valid
    assert read(chw, xlsx([good_row()]), user=demo["users"]["planner"]).valid


# --- files that are not the workbook ------------------------------------------------------


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def _broken_sheet() -> bytes:
    source = zipfile.ZipFile(io.BytesIO(xlsx([good_row()])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = b"<worksheet><sheetData><row r='1'><c r='A1' t='s'><v>99"
            archive.writestr(info, data)
    return buffer.getvalue()


BAD_FILES = [
    ("csv", "楼栋,楼层,房号\n1栋,2,01\n".encode("utf-8-sig"), "不是有效的 Excel（.xlsx）文件"),
    ("random", bytes(range(256)) * 8, "不是有效的 Excel（.xlsx）文件"),
    ("xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, "旧版 Excel（.xls）"),
    ("docx", _docx(), "不是 Excel 工作簿"),
    ("empty", b"", "文件是空的"),
    ("truncated", xlsx([good_row()])[:700], "不是有效的 Excel（.xlsx）文件"),
    ("broken sheet", _broken_sheet(), "文件已损坏"),
]


@pytest.mark.parametrize(("kind", "content", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_unreadable_files_get_a_clear_error(chw, kind, content, message):
    with pytest.raises(ImportFileError) as exc:
        read(chw, content)
    assert message in str(exc.value.message)
    assert exc.value.status == 400


def test_wrong_extension(chw):
    with pytest.raises(ImportFileError, match="请上传 Excel 的 .xlsx 文件"):
        read_units(project=chw["project"], file=xlsx([good_row()]), file_name="房源.csv")


def test_empty_sheet_and_header_only(chw):
    empty = openpyxl.Workbook()
    buffer = io.BytesIO()
    empty.save(buffer)
    with pytest.raises(ImportFileError, match="工作表是空的"):
        read(chw, buffer.getvalue())
    with pytest.raises(ImportFileError, match="没有房间数据"):
        read(chw, xlsx([]))


def test_size_and_row_limits(chw, settings):
    settings.LOUPAN_IMPORT_MAX_ROWS = 5
    with pytest.raises(ImportFileError, match="一次最多导入 5 行"):
        read(chw, xlsx(many_rows(6)))
    assert read(chw, xlsx(many_rows(5))).valid
    settings.LOUPAN_IMPORT_MAX_BYTES = 1024
    with pytest.raises(ImportFileError, match="文件过大"):
        read(chw, xlsx(many_rows(5)))


def test_zip_bomb_is_refused(chw, settings):
    settings.LOUPAN_IMPORT_MAX_UNCOMPRESSED = 10_000
    with pytest.raises(ImportFileError, match="解压后过大"):
        read(chw, xlsx(many_rows(40)))


# --- committing: all rows or none -----------------------------------------------------------


def _counts(project):
    return (
        Unit.objects.filter(project=project).count(),
        UnitPriceChange.objects.filter(unit__project=project).count(),
        AuditEntry.objects.count(),
    )


def test_99_good_rows_and_1_bad_row_write_nothing(chw, demo):
    rows = many_rows(100)
    rows[73]["建筑面积"] = -1
    before = _counts(chw["project"])
    with pytest.raises(ImportInvalid) as exc:
        imports.units_import(
            actor=demo["users"]["planner"], project=chw["project"], file=xlsx(rows)
        )
    assert exc.value.code == ErrorCode.INVALID
    assert exc.value.result.problems == [Problem(75, "建筑面积", "必须是大于 0 的数")]
    assert "1 处问题" in str(exc.value.message)
    assert _counts(chw["project"]) == before


def test_a_valid_file_is_imported_in_one_go(chw, demo):
    planner = demo["users"]["planner"]
    rows = many_rows(40) + [good_row(楼层=3, 单价=None, 表价=None, 底价=None)]
    units_before, prices_before, audit_before = _counts(chw["project"])
    result = imports.units_import(
        actor=planner, project=chw["project"], file=xlsx(rows), file_name="一期房源.xlsx"
    )
    assert len(result.units) == 41
    created = Unit.objects.filter(project=chw["project"], building__name__in=["T1栋", "T2栋"])
    assert created.count() == 41
    assert set(created.values_list("status", flat=True)) == {UnitStatus.NOT_RELEASED}
    units_after, prices_after, audit_after = _counts(chw["project"])
    assert units_after - units_before == 41
    assert prices_after - prices_before == 40  # the unpriced unit has no price history
    change = UnitPriceChange.objects.get(unit__number="T2栋101")
    assert (change.new_list_price, change.new_floor_price, change.actor) == (
        Decimal("1342500.00"),
        Decimal("1300000.00"),
        planner,
    )
    assert audit_after - audit_before == 1  # one summary entry, not one per unit
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == AuditAction.ACTION
    assert entry.project_id == chw["project"].pk and entry.actor == planner
    assert entry.object_type == "inventory.unit"
    assert entry.extra["rows"] == 41 and entry.extra["file"] == "一期房源.xlsx"
    assert entry.extra["buildings"] == {"T2栋": 40, "T1栋": 1}
    assert len(entry.extra["sha256"]) == 64


def test_commit_validates_again(chw, demo):
    """A unit entered between the preview and the commit stops the import."""
    planner = demo["users"]["planner"]
    content = xlsx(many_rows(3))
    assert read(chw, content).valid
    services.unit_create(
        actor=planner,
        project=chw["project"],
        data={"building": chw["t2"], "floor": 1, "room": "02", "gross_area": Decimal("80")},
    )
    before = _counts(chw["project"])
    with pytest.raises(ImportInvalid) as exc:
        imports.units_import(actor=planner, project=chw["project"], file=content)
    assert [(p.row, p.column) for p in exc.value.result.problems] == [(3, "房号"), (3, "房间编号")]
    assert _counts(chw["project"]) == before


@pytest.mark.parametrize("username", ["consultant", "salesadmin", "manager"])
def test_import_needs_unit_change(chw, demo, username):
    before = _counts(chw["project"])
    with pytest.raises(DomainError) as exc:
        imports.units_import(
            actor=demo["users"][username], project=chw["project"], file=xlsx([good_row()])
        )
    assert exc.value.code == ErrorCode.PERMISSION_DENIED
    assert _counts(chw["project"]) == before


# --- export and template ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "floor_price"),
    [
        ("planner", True),
        ("manager", True),
        ("director", True),
        ("salesadmin", False),
    ],
)
def test_export_header_follows_floor_price_visibility(chw, demo, username, floor_price):
    content, count = imports.units_export(actor=demo["users"][username], project=chw["project"])
    header = header_row(content)
    assert ("底价" in header) is floor_price
    assert header == [h for h in HEADERS if floor_price or h != "底价"]
    assert count == Unit.objects.filter(project=chw["project"]).count()
    if not floor_price:
        sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
        prices = {
            str(p)
            for p in Unit.objects.filter(project=chw["project"]).values_list(
                "floor_price", flat=True
            )
        }
        cells = {str(c) for row in sheet.iter_rows(values_only=True) for c in row}
        assert not any(p in cells for p in prices if p != "None")


@pytest.mark.parametrize("username", ["consultant", "finance", "supervisor"])
def test_export_needs_unit_export(chw, demo, username):
    with pytest.raises(DomainError) as exc:
        imports.units_export(actor=demo["users"][username], project=chw["project"])
    assert exc.value.code == ErrorCode.PERMISSION_DENIED


def test_export_is_audited(chw, demo):
    salesadmin = demo["users"]["salesadmin"]
    _content, count = imports.units_export(actor=salesadmin, project=chw["project"])
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == AuditAction.EXPORT and entry.actor == salesadmin
    assert entry.object_type == "inventory.unit" and entry.project_id == chw["project"].pk
    assert entry.extra["rows"] == count and entry.extra["filters"]["floor_price"] is False


def test_round_trip_into_an_empty_project(demo):
    planner = demo["users"]["planner"]
    source = setup_project(fresh_project(demo, "SRC"), planner)
    target = setup_project(fresh_project(demo, "DST"), planner)
    rows = (
        many_rows(12, building="T1栋", 单元=2)
        + many_rows(8)
        + [
            good_row(
                楼栋="T2栋",
                楼层="B2",
                房号="P01",
                用途="车位",
                建筑面积=12.5,
                套内面积=None,
                分摊面积=None,
                朝向=None,
                景观=None,
                户型=None,
                计价方式="按套",
                单价=100000,
                表价=100000,
                底价=90000,
                装修=None,
            ),
            good_row(
                楼层=20,
                房间编号="T1-2001 样板间",
                可售="否",
                不可售原因="样板间",
                备注="第二行\n备注",
                朝向="南北通透",
                装修="精装",
                计价方式="按套内面积",
                单价=18000.55,
                表价=1301579.77,
                底价=None,
                户型="T-B2",
            ),
        ]
    )
    imported = imports.units_import(actor=planner, project=source["project"], file=xlsx(rows))
    assert len(imported.units) == 22
    exported, count = imports.units_export(actor=planner, project=source["project"])
    assert count == 22
    result = imports.units_import(actor=planner, project=target["project"], file=exported)
    assert len(result.units) == 22

    fields = [
        "building__name",
        "stair",
        "floor",
        "room",
        "number",
        "layout__name",
        "use",
        "gross_area",
        "internal_area",
        "shared_area",
        "orientation",
        "view",
        "fit_out",
        "pricing_basis",
        "unit_price",
        "list_price",
        "floor_price",
        "sellable",
        "unsellable_reason",
        "note",
        "status",
    ]

    def snapshot(project):
        return sorted(Unit.objects.filter(project=project).values_list(*fields))

    assert snapshot(target["project"]) == snapshot(source["project"])
    # …and the export of the copy is the same workbook content.
    again, _ = imports.units_export(actor=planner, project=target["project"])
    assert sheet_rows(again) == sheet_rows(exported)


def sheet_rows(content):
    return list(
        openpyxl.load_workbook(io.BytesIO(content)).worksheets[0].iter_rows(values_only=True)
    )


def test_export_without_floor_price_imports_back(demo):
    """The salesadmin's export (no 底价 column) is still a valid import file."""
    planner = demo["users"]["planner"]
    source = setup_project(fresh_project(demo, "SRC2"), planner)
    target = setup_project(fresh_project(demo, "DST2"), planner)
    imports.units_import(actor=planner, project=source["project"], file=xlsx(many_rows(4)))
    fresh_project_member = demo["users"]["salesadmin"]
    from loupan.accounts.models import Membership, Role

    Membership.objects.create(
        user=fresh_project_member,
        project=source["project"],
        role=Role.objects.get(code="sales_admin"),
    )
    fresh_project_member.__dict__.pop("_loupan_grants", None)
    content, _ = imports.units_export(actor=fresh_project_member, project=source["project"])
    assert "底价" not in header_row(content)
    result = imports.units_import(actor=planner, project=target["project"], file=content)
    assert len(result.units) == 4
    assert set(
        Unit.objects.filter(project=target["project"]).values_list("floor_price", flat=True)
    ) == {None}


def test_template(chw, demo):
    content = imports.units_template(actor=demo["users"]["planner"], project=chw["project"])
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["房源", "填写说明"]
    sheet = workbook["房源"]
    rows = [r for r in sheet.iter_rows(values_only=True) if any(v is not None for v in r)]
    assert list(rows[0]) == HEADERS
    assert len(rows) == 2 and rows[1][HEADERS.index("备注")] == imports.EXAMPLE_NOTE
    explained = {r[0]: r for r in workbook["填写说明"].iter_rows(values_only=True) if r and r[0]}
    assert set(HEADERS) <= set(explained)
    assert explained["用途"][3] == USE_LABELS
    assert explained["楼栋"][1] == "是"
    assert "T1栋" in explained["本项目楼栋"][2]
    # The untouched template is refused for its example row, not with a crash.
    result = read(chw, content)
    assert [(p.row, p.column) for p in result.problems if p.column == "备注"] == [(2, "备注")]
    # With the example row filled in for real, it imports.
    sheet.cell(row=2, column=HEADERS.index("备注") + 1).value = None
    sheet.cell(row=2, column=1).value = "T1栋"
    sheet.cell(row=2, column=HEADERS.index("户型") + 1).value = "T-A1"
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert read(chw, buffer.getvalue()).valid


def test_template_without_floor_price_for_those_who_cannot_see_it(chw, demo):
    entry = make_user_with(
        demo, chw["project"], "entry2", ["project.view", "unit.view", "unit.change"]
    )
    content = imports.units_template(actor=entry, project=chw["project"])
    assert "底价" not in header_row(content)
    with pytest.raises(DomainError):
        imports.units_template(actor=demo["users"]["consultant"], project=chw["project"])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_the_same_file_at_once_one_wins(demo):
    """The project row lock serializes imports: the second sees the first one's units."""
    planner = User.objects.get(username="planner")
    data = setup_project(Project.objects.get(code="CHW"), planner)
    content = xlsx(many_rows(30))
    barrier = threading.Barrier(4)
    results = []

    def worker():
        try:
            barrier.wait()
            imports.units_import(actor=planner, project=data["project"], file=content)
            results.append("ok")
        except ImportInvalid:
            results.append("invalid")
        except DomainError as exc:
            results.append(str(exc.code))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["invalid", "invalid", "invalid", "ok"]
    assert Unit.objects.filter(building=data["t2"]).count() == 30
    assert UnitPriceChange.objects.filter(unit__building=data["t2"]).count() == 30
