"""An export never carries a formula: text that starts with "=" (typed as a customer's
name or a note) is written as text in every workbook ``core.xlsx.build_workbook``
writes, exports (write-only) and templates alike."""

import io

import pytest
from openpyxl import load_workbook

from loupan.core import xlsx

COLUMNS = [xlsx.Column("name", "姓名", "text"), xlsx.Column("amount", "金额", "money")]


@pytest.mark.parametrize("template", [False, True])
def test_text_that_looks_like_a_formula_stays_text(template):
    typed = '=HYPERLINK("http://x.example","点我")'
    rows = [(typed, 12), ("张三", 3)]
    data = xlsx.save(xlsx.build_workbook("表", COLUMNS, rows, template=template))
    sheet = load_workbook(io.BytesIO(data))["表"]
    cell = sheet["A2"]
    assert cell.value == typed and cell.data_type == "s"
    assert sheet["A3"].value == "张三" and sheet["B2"].value == 12
