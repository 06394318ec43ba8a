"""The reports' workbook (``engine.workbook``): openpyxl makes the sheets, headers and
styles; the rows are written as XML (``core.xlsx.rows_xml``, ``fill_sheets``). Read
back with openpyxl, every kind of cell is what openpyxl itself would have written."""

import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from loupan.core.xlsx import col
from loupan.reports import engine
from tests.deals.helpers import user

pytestmark = pytest.mark.django_db

COLUMNS = [
    col("text", "文本", width=20),
    col("n", "套数", "integer", 8),
    col("amount", "金额（元）", "money", 14),
    col("at", "时间", "datetime", 16),
    col("day", "日期"),
    col("flag", "是否"),
    col("pct", "占比（%）", "percent"),
]


def test_every_kind_of_cell_reads_back_as_written(demo):
    at = timezone.make_aware(datetime.datetime(2025, 3, 4, 9, 30))
    rows = [
        {
            "text": "A&B <c> \x01",
            "n": 3,
            "amount": Decimal("1234.50"),
            "at": at,
            "day": datetime.date(2025, 3, 4),
            "flag": True,
            "pct": Decimal("12.5"),
        },
        {"text": " 前后空格 ", "n": None, "amount": Decimal("-0.01"), "flag": False},
        {"text": "=1+1", "n": 0, "amount": None, "pct": None},
        {"text": "", "n": 7},
    ]
    total = {"text": "合计", "n": 10, "amount": Decimal("1234.49")}
    f = engine.filters_of(user("manager"), demo["main"], {})
    report = engine.Report(
        "test",
        "测试",
        f,
        figures=[engine.Figure("金额", Decimal("9.99"), "money")],
        tables=[
            engine.Table("明细", COLUMNS, rows, total),
            engine.Table("明细", COLUMNS[:2], []),
        ],
    )
    content, count = engine.workbook(report)
    assert count == len(rows) + 1
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["概要", "明细", "明细2"]
    head = book["概要"]
    assert head["A1"].value == "测试" and head["A1"].font.b
    assert head["B3"].value == 9.99 and head["B3"].number_format == "#,##0.00"
    sheet = book["明细"]
    assert [c.value for c in sheet[1]] == [c.header for c in COLUMNS]
    assert all(c.font.b for c in sheet[1])
    assert sheet.column_dimensions["A"].width == 20
    first = [c.value for c in sheet[2]]
    assert first[:3] == ["A&B <c> ", 3, 1234.5]  # the control character taken out
    assert first[3] == datetime.datetime(2025, 3, 4, 9, 30)  # local time, no zone
    assert first[4] == datetime.datetime(2025, 3, 4) and sheet["E2"].is_date
    assert first[5] is True and sheet["G2"].value == 12.5
    assert [sheet.cell(row=2, column=i).number_format for i in (2, 3, 4, 7)] == [
        "0",
        "#,##0.00",
        "yyyy-mm-dd hh:mm",
        '0.0"%"',
    ]
    assert sheet["A3"].value == " 前后空格 " and sheet["B3"].value is None
    assert sheet["C3"].value == -0.01 and sheet["F3"].value is False
    assert sheet["A4"].value == "=1+1" and sheet["A4"].data_type == "s"  # text, not a formula
    assert sheet["B4"].value == 0 and sheet["C4"].value is None
    assert sheet["A5"].value is None and sheet["B5"].value == 7
    assert [c.value for c in sheet[6]][:3] == ["合计", 10, 1234.49]
    assert sheet["A6"].font.b and sheet["C6"].font.b and sheet["C6"].number_format == "#,##0.00"
    assert sheet.max_row == 6
    empty = book["明细2"]
    assert empty.max_row == 1 and [c.value for c in empty[1]] == ["文本", "套数"]
