"""Excel in and out (ENGINEERING.md: "sales offices live in Excel"): what every xlsx import
and export of Loupan shares, so that the units import (inventory/imports.py) and the
customers import (customers/imports.py) read, check, report and write files one way.

* A format is a ``TableFormat``: its ``Column`` list (field, Chinese header, kind,
  required, help, example, accepted spellings of the header), the title of its data sheet
  and the messages that name what one row is.
* ``read_table`` refuses what is not an xlsx (an old .xls, a CSV, a .docx, random bytes, a
  zip bomb, an empty sheet, a sheet without the format's header, too many rows) with a
  Chinese ``ImportFileError`` — never a 500 — and returns the header mapping, the header
  problems and the data rows as (row number as Excel shows it, values).
* ``Table.cells`` parses a row's cells (``parse_cell``: text, codes kept as text, integers,
  money, choices by their Chinese label, 是/否, dates) and reports each bad cell into a
  ``RowProblems``: (row, column header, Chinese reason).
* ``ImportResult`` is what the preview page shows and the API answers; ``ImportInvalid``
  refuses a commit with all of them (all rows or none).
* ``build_workbook`` writes a template (header notes, drop-downs, text cells, an
  explanation sheet) or an export (write-only, any size); ``xlsx_response`` sends it.
* ``rows_xml`` and ``fill_sheets`` write a long sheet's rows as XML into a workbook
  openpyxl saved with the sheet's header and styles (``column_styles``): the reports'
  xlsx, where a year's 成交客户档案 is twenty thousand lines.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import math
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from . import progress
from .errors import DomainError, ErrorCode
from .money import money, to_decimal
from .ports import audit

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HELP_SHEET = "填写说明"
# The note of a template's example row: a row that still has it is refused.
EXAMPLE_NOTE = "示例行，导入前请删除"
YES, NO = "是", "否"
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
    """One column of a format. ``kind`` says how a cell is read and written: text, code
    (text that must keep its digits, such as a phone or ID number), integer, money,
    choice (``choices`` a TextChoices, minus ``exclude``), bool (是/否), datetime — and
    kinds of an app's own that the app parses first (a unit's floor or room)."""

    field: str
    header: str
    kind: str
    required: bool = False
    choices: type | None = None
    help: str = ""
    example: object = None
    width: int = 10
    aliases: tuple = ()
    exclude: tuple = ()

    def labels(self) -> list[str]:
        """The Chinese labels of the allowed choices (the format is Chinese whatever the
        viewer's language)."""
        with translation.override("zh-hans"):
            return [
                str(label) for value, label in self.choices.choices if value not in self.exclude
            ]

    def allowed(self) -> list[str]:
        if self.kind == "choice":
            return self.labels()
        return [YES, NO] if self.kind == "bool" else []


def col(field, header, kind="text", width=12) -> Column:
    """An export column (a list as a table: field, header, kind, width)."""
    return Column(field, header, kind, width=width)


def norm_header(value) -> str:
    """Headers as people type them: 建筑面积（㎡）, *楼栋, 表价(元) all match."""
    text = str(value or "").strip()
    text = re.sub(r"[（(][^）)]*[）)]", "", text)
    return re.sub(r"[\s*＊:：]", "", text)


def zh_label(choices, value) -> str:
    """A choice's Chinese label whatever the viewer's language (the format is Chinese)."""
    if not value:
        return ""
    with translation.override("zh-hans"):
        return str(choices(value).label)


@dataclass(frozen=True)
class TableFormat:
    """A workbook format: the columns, the data sheet's title, the column whose header
    marks the header row, and the messages that say what one row is (房间, 客户)."""

    columns: tuple
    sheet: str
    key_field: str
    empty_message: str  # the sheet has no row at all
    not_table_message: str  # %(row)d, %(required)s: the header is not this format's
    no_data_message: str  # a header and nothing below it
    invalid_message: str  # %(count)d: the commit is refused
    row_noun: str  # what one row is, for the explanation sheet: 一个房间, 一位客户
    choice_aliases: dict = field(default_factory=dict, hash=False, compare=False)

    @cached_property
    def by_field(self) -> dict[str, Column]:
        return {c.field: c for c in self.columns}

    @cached_property
    def lookup(self) -> dict[str, Column]:
        lookup = {}
        for column in self.columns:
            for name in (column.header, *column.aliases):
                lookup[norm_header(name)] = column
        return lookup

    @cached_property
    def order(self) -> dict[str, int]:
        return {c.header: index for index, c in enumerate(self.columns)}

    @property
    def required_headers(self) -> list[str]:
        return [c.header for c in self.columns if c.required]

    def header(self, field_name: str) -> str:
        column = self.by_field.get(field_name)
        return column.header if column else ""

    def choice_maps(self) -> dict[str, dict[str, str]]:
        """Accepted spellings of each choice column: the labels, the codes (any case) and
        the format's extra aliases."""
        maps = {}
        for column in self.columns:
            if column.kind != "choice":
                continue
            with translation.override("zh-hans"):
                mapping = {
                    str(label): value
                    for value, label in column.choices.choices
                    if value not in column.exclude
                }
            mapping.update(
                {
                    value.lower(): value
                    for value in column.choices.values
                    if value not in column.exclude
                }
            )
            mapping.update(self.choice_aliases.get(column.field, {}))
            maps[column.field] = mapping
        return maps


# --- problems and results -----------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One problem of the file: the row as Excel shows it, the column header, the reason."""

    row: int | None
    column: str
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


class RowProblems:
    """The problems of one row. ``bad`` holds the fields already reported, so that a later
    rule does not report the same cell twice."""

    def __init__(self, row: int, fmt: TableFormat):
        self.row, self.fmt = row, fmt
        self.problems: list[Problem] = []
        self.bad: set[str] = set()

    def __call__(self, field_name: str, message) -> None:
        self.problems.append(Problem(self.row, self.fmt.header(field_name), str(message)))
        self.bad.add(field_name)

    def __bool__(self) -> bool:
        return bool(self.problems)

    def add_error(self, exc: DomainError) -> None:
        """A service's DomainError, field by field (fields already reported are skipped)."""
        for name, reasons in exc.fields.items():
            if name not in self.bad:
                for reason in reasons:
                    self(name, reason)


@dataclass
class ImportResult:
    """What a read found: the unsaved objects (only when the whole file is valid), every
    problem, the number of data rows and the file's name and SHA-256."""

    items: list = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0
    file_name: str = ""
    sha256: str = ""

    @property
    def valid(self) -> bool:
        return not self.problems and self.rows > 0

    def reasons(self) -> list[tuple[str, str, int]]:
        """(column, reason without the value, count): the big picture of a bad file."""
        counts = Counter(
            (p.column, re.sub(r"「[^」]*」", "「…」", p.message)) for p in self.problems
        )
        return [(c, m, n) for (c, m), n in counts.most_common()]

    def finish(self, problems: list[Problem], fmt: TableFormat) -> ImportResult:
        """Sort the problems by row and column; a file with any problem keeps no object."""
        problems.sort(key=lambda p: (p.row or 0, fmt.order.get(p.column, 99)))
        self.problems = problems
        if problems:
            self.items = []
        return self

    def as_body(self, limit: int = 1000) -> dict:
        """The API's answer: at most ``limit`` errors, ``error_count`` is the total."""
        return {
            "valid": self.valid,
            "rows": self.rows,
            "error_count": len(self.problems),
            "errors": [p.as_dict() for p in self.problems[:limit]],
        }


class ImportFileError(DomainError):
    """The file cannot be read as the format's workbook at all (nothing was written)."""

    def __init__(self, message):
        super().__init__(ErrorCode.INVALID, message, {"file": [message]})


class ImportInvalid(DomainError):
    """The file was read but has problems; all rows are refused (nothing was written)."""

    def __init__(self, result: ImportResult, fmt: TableFormat):
        self.result = result
        super().__init__(
            ErrorCode.INVALID, str(fmt.invalid_message) % {"count": len(result.problems)}
        )


@dataclass(frozen=True)
class ImportSpec:
    """One xlsx import as the pages and the API run it (core.import_views); every import
    offers the same three functions with the same keyword arguments."""

    perm: str  # needed to import and to download the template
    read: Callable  # read(project=, file=, user=, file_name=) → ImportResult; writes nothing
    commit: Callable  # commit(actor=, project=, file=, file_name=) → ImportResult; all or none
    template: Callable  # template(actor=, project=) → bytes
    template_name: str  # the template's file name after the project code

    def template_filename(self, project) -> str:
        return f"{project.code}-{self.template_name}.xlsx"


# --- reading ------------------------------------------------------------------------


def as_file(file):
    """A seekable binary file from bytes, a path, a Django upload or a file object."""
    if isinstance(file, bytes | bytearray):
        return io.BytesIO(file)
    if isinstance(file, str):
        return open(file, "rb")  # noqa: SIM115 - read_table closes it
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


def blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read_rows(fh, sheet_title: str) -> list[tuple[int, tuple]]:
    """Every non-empty row of the data sheet (the one titled ``sheet_title``, else the
    first) as (Excel row number, values)."""
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
        sheet = next((s for s in sheets if s.title.strip() == sheet_title), sheets[0])
        # The stored size is only an estimate for the progress bar: some writers store a
        # wrong one, so every row is read.
        estimate = sheet.max_row or 0
        sheet.reset_dimensions()
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            if number % 100 == 0:
                progress.report(progress.READ, number, max(estimate, number))
            if all(blank(v) for v in values):
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


def _find_header(rows, fmt: TableFormat) -> int:
    """Index in ``rows`` of the header: the first of the first ten rows naming the key
    column (a title row above the table is allowed), else the first row."""
    key = fmt.by_field[fmt.key_field]
    for index, (_number, values) in enumerate(rows[:10]):
        if any(fmt.lookup.get(norm_header(v)) is key for v in values):
            return index
    return 0


def _map_header(header_number, header_values, fmt: TableFormat):
    """Map header cells to columns; problems for unknown, duplicate and missing ones."""
    problems = []
    index_of: dict[str, int] = {}
    for index, raw in enumerate(header_values):
        if blank(raw):
            continue
        column = fmt.lookup.get(norm_header(raw))
        label = text(raw)
        if column is None:
            problems.append(Problem(header_number, label, _("无法识别的列名；请使用模板中的列名")))
        elif column.field in index_of:
            problems.append(Problem(header_number, label, _("列名重复")))
        else:
            index_of[column.field] = index
    for column in fmt.columns:
        if column.required and column.field not in index_of:
            problems.append(Problem(header_number, column.header, _("缺少必填列")))
    return index_of, problems


@dataclass
class Table:
    """A read sheet: the header row's number, where each column is, the header's
    problems and the data rows."""

    fmt: TableFormat
    file_name: str
    sha256: str
    header_number: int
    index_of: dict[str, int]
    rows: list[tuple[int, tuple]]
    problems: list[Problem]
    checked: int = 0

    def value(self, values: tuple, field_name: str):
        index = self.index_of.get(field_name)
        return values[index] if index is not None and index < len(values) else None

    def has_values(self, field_name: str) -> bool:
        return any(not blank(self.value(values, field_name)) for _n, values in self.rows)

    def result(self, **kwargs) -> ImportResult:
        return ImportResult(
            rows=len(self.rows), file_name=self.file_name, sha256=self.sha256, **kwargs
        )

    def cells(self, values: tuple, problem: RowProblems, parse) -> dict:
        """The row's parsed cells by field; a blank required cell, every cell that does
        not parse and the template's example row are reported. ``parse(column, raw)``
        returns the value or raises CellError. Every import checks its rows through
        here, in order: this is where the check's progress is reported."""
        self.checked += 1
        if self.checked % 50 == 0 or self.checked == len(self.rows):
            progress.report(progress.CHECK, self.checked, len(self.rows))
        data = {}
        for column in self.fmt.columns:
            raw = self.value(values, column.field)
            if blank(raw):
                if column.required:
                    problem(column.field, _("必须填写"))
                continue
            try:
                data[column.field] = parse(column, raw)
            except CellError as exc:
                problem(column.field, exc.args[0])
        if data.get("note") == EXAMPLE_NOTE:
            problem("note", _("这是模板中的示例行，请删除后再导入"))
        return data


def read_table(file, fmt: TableFormat, file_name: str = "") -> Table:
    """Read the format's sheet of an xlsx (bytes, a path or a file object); raises
    ``ImportFileError`` when it cannot be read as that table at all."""
    file_name = file_name or getattr(file, "name", "") or ""
    fh = as_file(file)
    try:
        check_container(fh, file_name)
        digest = _sha256(fh)
        rows = _read_rows(fh, fmt.sheet)
    finally:
        if fh is not file:
            fh.close()
    if not rows:
        raise ImportFileError(str(fmt.empty_message))
    header_at = _find_header(rows, fmt)
    header_number, header_values = rows[header_at]
    index_of, problems = _map_header(header_number, header_values, fmt)
    data_rows = rows[header_at + 1 :]
    if problems and not any(c.field in index_of for c in fmt.columns if c.required):
        # Not this table at all (wrong sheet, wrong file): say so once, clearly.
        raise ImportFileError(
            str(fmt.not_table_message)
            % {"row": header_number, "required": "、".join(fmt.required_headers)}
        )
    if not data_rows:
        raise ImportFileError(str(fmt.no_data_message))
    if len(data_rows) > max_rows():
        raise ImportFileError(
            _("行数超过上限：一次最多导入 %(limit)d 行，请分批导入。") % {"limit": max_rows()}
        )
    return Table(
        fmt=fmt,
        file_name=file_name.rsplit("/", 1)[-1],
        sha256=digest,
        header_number=header_number,
        index_of=index_of,
        rows=data_rows,
        problems=problems,
    )


def lookup_name(mapping: dict, name: str):
    """Exact name first; otherwise a unique case-insensitive match (a1 → A1)."""
    if name in mapping:
        return mapping[name]
    folded = [obj for key, obj in mapping.items() if key.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


# --- committing ---------------------------------------------------------------------


class _Reporting(list):
    """The rows to write: a write that goes through them one by one reports its
    progress (a bulk insert reports at its end)."""

    def __iter__(self):
        total = len(self)
        for done, item in enumerate(super().__iter__(), start=1):
            if done % 50 == 0:
                progress.report(progress.WRITE, done, total)
            yield item


def import_all_or_none(
    *, actor, project, fmt: TableFormat, read, write, conflict, object_type, label, action
) -> ImportResult:
    """Write all rows or none (the rule of every import), in one transaction: under a lock
    on the project row (one import per project at a time; SQLite's IMMEDIATE
    transactions serialize anyway) the file is read again with ``read()``, so that what
    changed since the preview is caught, and ``write(result)`` runs only when every row
    is valid (else ``ImportInvalid`` with every problem). A unique constraint that still
    fails — someone wrote the same thing at that instant — is a CONFLICT with the
    ``conflict`` message. The import's own audit entry (``action``, the row count, file
    name and SHA-256, and what ``write`` returns) is written in the same transaction."""
    with transaction.atomic():
        list(type(project).objects.select_for_update().filter(pk=project.pk).values_list("pk"))
        result = read()
        if not result.valid:
            raise ImportInvalid(result, fmt)
        result.items = _Reporting(result.items)
        progress.report(progress.WRITE, 0, len(result.items))
        try:
            with transaction.atomic():
                extra = write(result)
        except IntegrityError as exc:
            raise DomainError(ErrorCode.CONFLICT, str(conflict)) from exc
        count = len(result.items)
        progress.report(progress.WRITE, count, count)
        audit.record(
            actor=actor,
            action="action",
            project_id=project.pk,
            object_type=object_type,
            object_repr=str(label) % {"count": count},
            extra={
                "action": action,
                "rows": count,
                "file": result.file_name,
                "sha256": result.sha256,
                **extra,
            },
        )
    return result


# --- cells --------------------------------------------------------------------------


class CellError(Exception):
    """A cell that does not parse; the argument is the Chinese reason."""


def text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        value = YES if value else NO
    return str(value).strip()


_UNIT_SUFFIX = re.compile(r"(㎡|m²|m2|平方米|平米|平|元/㎡|元|万元|万)$", re.IGNORECASE)


def decimal(value) -> Decimal:
    """A number to the fen; 89.5㎡ and "1,342,500元" are numbers too."""
    if isinstance(value, bool):
        raise CellError(_("「%(value)s」不是数字") % {"value": text(value)})
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise CellError(_("不是数字"))
        value = repr(value)  # the shortest decimal that is this float: 89.5 stays 89.5
    if isinstance(value, str):
        value = _UNIT_SUFFIX.sub("", value.strip()).strip()
    try:
        number = to_decimal(value)
    except (ValueError, TypeError) as exc:
        raise CellError(_("「%(value)s」不是数字") % {"value": text(value)[:30]}) from exc
    if not number.is_finite():
        raise CellError(_("「%(value)s」不是数字") % {"value": text(value)[:30]})
    return money(number)


def integer(value) -> int:
    if isinstance(value, bool):
        raise CellError(_("必须是整数"))
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise CellError(_("必须是整数"))
    text_value = str(value).strip()
    if re.fullmatch(r"[+-]?\d+(\.0+)?", text_value):
        return int(float(text_value)) if "." in text_value else int(text_value)
    raise CellError(_("「%(value)s」不是整数") % {"value": text_value[:30]})


_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%Y%m%d")
_TIME_FORMATS = ("", " %H:%M", " %H:%M:%S", "T%H:%M", "T%H:%M:%S")


def when(value) -> datetime.datetime:
    """A date or a date and time as an aware datetime in the office's time zone; a date
    alone is that day's 00:00."""
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time())
    else:
        raw = text(value) if isinstance(value, str) else ""
        moment = None
        for date_format in _DATE_FORMATS:
            for time_format in _TIME_FORMATS:
                try:
                    moment = datetime.datetime.strptime(raw, date_format + time_format)
                except ValueError:
                    continue
                break
            if moment is not None:
                break
        if moment is None:
            raise CellError(
                _("「%(value)s」不是有效的日期，请写成 2026-03-01 或 2026-03-01 14:30")
                % {"value": text(value)[:30]}
            )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _model_field(model, name):
    try:
        return model._meta.get_field(name)
    except FieldDoesNotExist:
        return None


def max_for(model, name: str) -> Decimal:
    """The first amount a DecimalField cannot hold."""
    model_field = model._meta.get_field(name)
    return Decimal(10) ** (model_field.max_digits - model_field.decimal_places)


def parse_cell(column: Column, value, *, model, choice_maps):
    """One cell's value for ``model`` by the column's kind, or CellError with the reason."""
    kind = column.kind
    if kind in ("text", "code"):
        result = text(value)
        model_field = _model_field(model, column.field)
        max_length = None if model_field is None else getattr(model_field, "max_length", None)
        if max_length and len(result) > max_length:
            raise CellError(_("最多 %(n)d 个字符") % {"n": max_length})
        return result
    if kind == "integer":
        number = integer(value)
        if number < 0 or number > 32767:
            raise CellError(_("必须是 0 到 32767 的整数"))
        return number
    if kind == "money":
        number = decimal(value)
        if number < 0:
            raise CellError(_("不能为负数"))
        if number >= max_for(model, column.field):
            raise CellError(_("数值过大"))
        return number
    if kind == "choice":
        label = text(value)
        mapping = choice_maps[column.field]
        found = mapping.get(label) or mapping.get(label.lower())
        if found is None:
            raise CellError(
                _("「%(value)s」不是有效的%(name)s，可选：%(allowed)s")
                % {
                    "value": label[:30],
                    "name": column.header,
                    "allowed": "、".join(column.labels()),
                }
            )
        return found
    if kind == "bool":
        label = text(value).lower()
        if label not in BOOL_VALUES:
            raise CellError(_("「%(value)s」无效，只能填写 是 或 否") % {"value": text(value)[:30]})
        return BOOL_VALUES[label]
    if kind == "datetime":
        return when(value)
    raise AssertionError(kind)


# --- writing ------------------------------------------------------------------------

NUMBER_FORMATS = {
    "area": "0.00",
    "money": "#,##0.00",
    "percent": '0.0"%"',
    "stair": "0",
    "floor": "0",
    "integer": "0",
    "room": "@",
    "code": "@",
    "datetime": "yyyy-mm-dd hh:mm",
}
# Kinds typed as text in a template, so that 02 and 13812345678 keep their digits.
TEXT_KINDS = {kind for kind, number_format in NUMBER_FORMATS.items() if number_format == "@"}


def excel_value(value):
    """A value as openpyxl writes it: aware datetimes in local time without the zone."""
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.localtime(value).replace(tzinfo=None)
    return value


def help_rows(fmt: TableFormat, columns, notes=(), extra=()) -> list[tuple[tuple, bool]]:
    """(cells, is a title row) of the explanation sheet: every column with whether it is
    required, its help and its allowed values; the rules of every import around the
    format's own ``notes``; then ``extra`` rows (the project's names to use)."""
    rows: list[tuple[tuple, bool]] = [(("列名", "必填", "说明", "可选值"), True)]
    for column in columns:
        rows.append(
            (
                (
                    column.header,
                    YES if column.required else "",
                    column.help,
                    "、".join(column.allowed()),
                ),
                False,
            )
        )
    rows.append(((), False))
    rows.append((("说明",), True))
    for note in (
        f"第一个工作表“{fmt.sheet}”的第一行是表头，从第二行起每行{fmt.row_noun}；列的顺序可以调整，列名须与模板一致。",
        "整个文件全部正确才会导入：预览页列出每一处问题（行、列、原因），修改后重新上传。",
        f"一次最多 {max_rows()} 行，文件不超过 {max_bytes() / 1048576:g} MB；请勿合并单元格。",
        *notes,
        f"模板第二行是示例，备注为“{EXAMPLE_NOTE}”，导入前请删除该行。",
    ):
        rows.append((("", "", note), False))
    rows.extend(extra)
    return rows


def build_workbook(sheet_title: str, columns, rows, *, help=None, template: bool = False):
    """The data sheet (header + rows) and, with ``help`` rows, the explanation sheet.
    Write-only unless ``template`` (any size, little memory); a template also gets header
    notes, drop-downs for choices and text cells for codes."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook(write_only=not template)
    if template:
        sheet = workbook.active
        sheet.title = sheet_title
    else:
        sheet = workbook.create_sheet(sheet_title)
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
            cell = WriteOnlyCell(sheet, value=excel_value(value))
            if cell.data_type == "f":
                # text someone typed ("=HYPERLINK(…)" as a customer's name) stays text: an
                # export never carries a formula for Excel to run
                cell.data_type = "s"
            if column.kind in NUMBER_FORMATS:
                cell.number_format = NUMBER_FORMATS[column.kind]
            cells.append(cell)
        sheet.append(cells)

    if template:
        last = max_rows() + 1
        for index, column in enumerate(columns, start=1):
            letter = get_column_letter(index)
            note = f"{'必填。' if column.required else ''}{column.help}"
            sheet.cell(row=1, column=index).comment = Comment(note, "Loupan", width=240, height=90)
            allowed = column.allowed()
            if allowed:
                validation = DataValidation(
                    type="list", formula1='"' + ",".join(allowed) + '"', allow_blank=True
                )
                validation.errorTitle = column.header
                validation.error = "请从下拉列表中选择：" + "、".join(allowed)
                validation.add(f"{letter}2:{letter}{last}")
                sheet.add_data_validation(validation)
            if column.kind in TEXT_KINDS:  # text, so that leading zeros and long digits stay
                for row_index in range(2, 502):
                    sheet.cell(row=row_index, column=index).number_format = "@"

    if help is not None:
        help_sheet = workbook.create_sheet(HELP_SHEET)
        for index, width in enumerate((14, 8, 60, 50), start=1):
            help_sheet.column_dimensions[get_column_letter(index)].width = width
        wrap = Alignment(wrap_text=True, vertical="top")
        for values, is_title in help:
            cells = []
            for value in values:
                cell = WriteOnlyCell(help_sheet, value=value)
                cell.alignment = wrap
                if is_title:
                    cell.font = bold
                cells.append(cell)
            help_sheet.append(cells)
    return workbook


def save(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- long sheets: rows written as XML ---------------------------------------------------
# openpyxl spends some fifteen microseconds on a cell even in write-only mode (a cell
# object, its type checks, lxml's incremental writer): a year's 成交客户档案 of twenty
# thousand lines of twenty cells took seconds. A long sheet is made by openpyxl with its
# header (columns, widths, styles registered in the workbook's styles), and its rows are
# written after the header into the saved file's sheet XML as text (``fill_sheets``),
# cells as openpyxl writes them: numbers, booleans, dates as Excel serials, text as
# inline strings (text is never read as a formula), the cell styles by their index.

_ILLEGAL_XML = re.compile(r"[\000-\010\013\014\016-\037]")
MAX_CELL_TEXT = 32767  # Excel's limit of a cell's characters


def style_id(sheet, *, number_format: str | None = None, font=None) -> int:
    """The index in ``sheet``'s workbook of the cell style with ``number_format`` and
    ``font`` (registered, so that the saved styles hold it)."""
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet)
    if font is not None:
        cell.font = font
    if number_format:
        cell.number_format = number_format
    return cell.style_id


def column_styles(sheet, formats, *, font=None) -> list[tuple[int, int, int]]:
    """For ``rows_xml``, each column's cell styles (registered in ``sheet``'s workbook):
    with its number format (None for none) and ``font``, and for a date and a datetime
    in a column without a date format the format openpyxl would give them."""
    from openpyxl.styles.numbers import is_date_format

    styles = []
    for number_format in formats:
        plain = style_id(sheet, number_format=number_format, font=font)
        if number_format and is_date_format(number_format):
            styles.append((plain, plain, plain))
            continue
        styles.append(
            (
                plain,
                style_id(sheet, number_format="yyyy-mm-dd", font=font),
                style_id(sheet, number_format="yyyy-mm-dd h:mm:ss", font=font),
            )
        )
    return styles


def _text_xml(value: str) -> str:
    """The end of a text cell (after its reference and style): an inline string, without
    the control characters XML does not allow."""
    if not value.isprintable():  # a C loop; the rare text with a tab or worse
        value = _ILLEGAL_XML.sub("", value)
        if not value:
            return '" t="inlineStr"><is><t></t></is></c>'
    if "&" in value or "<" in value or ">" in value:
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if len(value) > MAX_CELL_TEXT:
        value = value[:MAX_CELL_TEXT]
    if value[0] in _SPACES or value[-1] in _SPACES:
        return f'" t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>'
    return f'" t="inlineStr"><is><t>{value}</t></is></c>'


_SPACES = " \t\r\n"
# A text that ``_text_xml`` leaves as it is: printable, no XML markup character, no
# space at either end (``str.isprintable`` is False for the control characters, tabs
# and line ends, and for some other characters that the slow path keeps as they are).
_END = r"[^\s\x00-\x1f\x7f&<>]"
_PLAIN_TEXT = re.compile(rf"{_END}|{_END}[^\x00-\x1f\x7f&<>]*{_END}")
# The texts ``rows_xml`` remembers: those met first, which are the repeated ones (status,
# building, channel, consultant …) whatever the unique ones that follow.
TEXT_MEMO = 4096


def rows_xml(rows, styles: list[tuple[int, int, int]], first: int = 2):
    """``rows`` (a list of values per row, a value per column) as the ``<row>``
    elements of a worksheet from row ``first``, the cells of column ``i`` with the
    styles ``styles[i]`` (``column_styles``); a None or empty text is no cell. Aware
    datetimes are written in local time (``excel_value``)."""
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.datetime import to_excel

    here = timezone.get_current_timezone()
    texts: dict[str, str] = {}  # a text's cell end, for the texts that repeat (labels)
    columns = [
        (get_column_letter(i), f' s="{s}', f' s="{d}', f' s="{dt}')
        for i, (s, d, dt) in enumerate(styles, start=1)
    ]
    plain = _PLAIN_TEXT.fullmatch
    for n, values in enumerate(rows, start=first):
        row = str(n)
        parts = [f'<row r="{row}">']
        append = parts.append
        for (letter, style, date_style, datetime_style), value in zip(columns, values, strict=True):
            if value is None:
                continue
            kind = type(value)
            if kind is str:
                if value:
                    text = texts.get(value)
                    if text is None:
                        # most unique texts (names, numbers) need nothing: one C match
                        if len(value) <= MAX_CELL_TEXT and plain(value):
                            text = f'" t="inlineStr"><is><t>{value}</t></is></c>'
                        else:
                            text = _text_xml(value)
                        if len(texts) < TEXT_MEMO:
                            texts[value] = text
                    append(f'<c r="{letter}{row}"{style}{text}')
            elif kind is int or kind is Decimal:
                append(f'<c r="{letter}{row}"{style}" t="n"><v>{value}</v></c>')
            elif kind is datetime.datetime:
                if value.tzinfo is not None:
                    value = value.astimezone(here).replace(tzinfo=None)
                append(f'<c r="{letter}{row}"{datetime_style}" t="n"><v>{to_excel(value)}</v></c>')
            elif kind is datetime.date:
                append(f'<c r="{letter}{row}"{date_style}" t="n"><v>{to_excel(value)}</v></c>')
            elif kind is bool:
                append(f'<c r="{letter}{row}"{style}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | Decimal | float) and not isinstance(value, bool):
                if isinstance(value, float) and not math.isfinite(value):
                    append(f'<c r="{letter}{row}"{style}{_text_xml(str(value))}')
                else:
                    append(f'<c r="{letter}{row}"{style}" t="n"><v>{value}</v></c>')
            elif text := str(value):  # a lazy translation or anything else: as text
                append(f'<c r="{letter}{row}"{style}{_text_xml(text)}')
        append("</row>")
        yield "".join(parts)


def fill_sheets(content: bytes, sheets: dict, *, batch: int = 1000) -> bytes:
    """The saved workbook ``content`` with rows added to sheets: ``sheets`` maps a
    worksheet's path in the archive (``sheet.path`` without its leading slash) to its
    ``rows_xml``, written after the rows openpyxl wrote (the header). The other parts
    are copied as they are; the sheets are compressed at the fastest level (a long
    sheet's XML is tens of megabytes)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            rows = sheets.get(info.filename)
            if rows is None:
                target.writestr(info, data)
                continue
            if b"<sheetData/>" in data:
                data = data.replace(b"<sheetData/>", b"<sheetData></sheetData>", 1)
            head, tail = data.split(b"</sheetData>", 1)
            with target.open(info.filename, "w") as out:
                out.write(head)
                chunk: list[str] = []
                for row in rows:
                    chunk.append(row)
                    if len(chunk) >= batch:
                        out.write("".join(chunk).encode())
                        chunk = []
                out.write("".join(chunk).encode())
                out.write(b"</sheetData>" + tail)
    return buffer.getvalue()


def export_audited(
    *, actor, project, what: str, sheet: str, columns, rows, filters: dict, help=None
) -> tuple[bytes, int]:
    """``rows`` (an iterator, any size) as a workbook, recorded in the audit trail as an
    export of ``what`` with how many rows left and the filters that chose them. The
    caller has checked the permission."""
    count = 0

    def counted():
        nonlocal count
        for row in rows:
            count += 1
            yield row

    content = save(build_workbook(sheet, columns, counted(), help=help))
    audit_export(actor=actor, project=project, what=what, count=count, filters=filters)
    return content, count


def audit_export(*, actor, project, what: str, count: int, filters: dict) -> None:
    """Record that ``count`` rows of ``what`` left as an xlsx, with the filters that
    chose them (every export, whoever builds its workbook)."""
    with transaction.atomic():
        audit.export(
            actor=actor,
            what=what,
            count=count,
            project_id=project.pk,
            filters={"format": "xlsx", **filters},
        )


def xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


def export_filename(project, kind: str) -> str:
    return f"{project.code}-{kind}-{timezone.localdate():%Y%m%d}.xlsx"
