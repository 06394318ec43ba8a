"""The one shape of every report, so that a report is written once and is the same on
the page, on paper, in the xlsx and in the API (issue 15 "Every report").

* ``Filters``: who asks, for which project, period, building, consultant and channel;
  ``filters_of`` parses them from a query string and refuses a bad one naming the field.
  A consultant (``report.view_own`` without ``report.view``) always sees only their own
  figures: the consultant filter is forced to them, whatever the query says.
* ``Report``: key figures, tables (``Table``: columns as ``core.xlsx.Column``, rows as
  dicts, a total row) and charts (``Chart``, drawn by ``charts.py``).
* ``register(Spec)`` adds a report to the catalogue (``catalogue.py`` imports the
  modules that register); ``build(code, user, project, params)`` checks who may see it,
  parses the filters and runs its builder; ``as_json`` is the API's answer;
  ``export`` the audited workbook.

A builder only reads: it takes the ``Filters`` and returns a ``Report``.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import itemgetter

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from loupan.accounts import access
from loupan.core import xlsx
from loupan.core.dates import parse_date
from loupan.core.errors import DomainError, ErrorCode, invalid
from loupan.customers import exports as customer_exports
from loupan.customers.models import Channel
from loupan.inventory.models import Building

from .errors import ReportError

VIEW = "report.view"
VIEW_OWN = "report.view_own"
MAX_DAYS = 3 * 366
PERIODS = ("day", "week", "month", "quarter", "year")


# --- filters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What a report is asked for. ``end`` is inclusive; ``since``/``until`` are the
    aware instants of the local days (``until`` exclusive)."""

    user: object
    project: object
    start: datetime.date
    end: datetime.date
    building: Building | None = None
    consultant: object | None = None
    channel: Channel | None = None
    own: bool = False
    # what the figures read once for this report and share between its tables (the
    # kept traffic's sums, ``figures.traffic_by``); a new period starts empty
    memo: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def since(self) -> datetime.datetime:
        return day_start(self.start)

    @property
    def until(self) -> datetime.datetime:
        return day_start(self.end + datetime.timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def with_period(self, start, end) -> Filters:
        return dataclasses.replace(self, start=start, end=end, memo={})

    def as_dict(self) -> dict:
        """The filters as the audit trail and the API show them."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            **({"building": self.building.pk} if self.building else {}),
            **({"consultant": self.consultant.pk} if self.consultant else {}),
            **({"channel": self.channel.pk} if self.channel else {}),
        }


def day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def period_bounds(period: str, day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The calendar day, week (Monday to Sunday), month, quarter or year of ``day``."""
    if period == "week":
        start = day - datetime.timedelta(days=day.weekday())
        return start, start + datetime.timedelta(days=6)
    if period == "month":
        return day.replace(day=1), month_end(day)
    if period == "quarter":
        first = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
        return first, month_end(first.replace(month=first.month + 2))
    if period == "year":
        return day.replace(month=1, day=1), day.replace(month=12, day=31)
    return day, day


def month_end(day: datetime.date) -> datetime.date:
    nxt = (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return nxt - datetime.timedelta(days=1)


def months_of(start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The first days of the months that ``start``–``end`` touches."""
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return months


def _pk(params, name: str):
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise invalid(name, _("应为编号")) from exc


def may_see_office(user, project) -> bool:
    return access.has_perm(user, VIEW, project)


def may_see_own(user, project) -> bool:
    return access.has_perm(user, VIEW_OWN, project)


def sales_people(project):
    """Whose figures the reports list: the project's members who sell (``deal.add``)."""
    return access.members_with(project, "deal.add")


def filters_of(user, project, params, *, period: str = "month") -> Filters:
    """The filters of ``params`` (a query string or a JSON body): ``period`` (day, week,
    month, quarter, year) with ``date``, or ``start`` and ``end``; ``building``,
    ``consultant``, ``channel`` as ids of the project. Refused naming the field."""
    params = params or {}
    period = params.get("period") or period
    if period not in PERIODS:
        raise invalid("period", _("应为 day、week、month、quarter 或 year"))
    day = parse_date(params.get("date"), "date", default_today=True)
    start, end = period_bounds(period, day)
    if params.get("start") or params.get("end"):
        start = parse_date(params.get("start"), "start") or start
        end = parse_date(params.get("end"), "end") or end
    if end < start:
        raise invalid("end", _("结束日期不能早于开始日期"))
    if (end - start).days >= MAX_DAYS:
        raise invalid("end", _("一次最多统计三年"))
    building = consultant = channel = None
    if (pk := _pk(params, "building")) is not None:
        building = Building.objects.filter(project=project, pk=pk).first()
        if building is None:
            raise invalid("building", _("本项目没有这个楼栋"))
    if (pk := _pk(params, "channel")) is not None:
        channel = Channel.objects.filter(project=project, pk=pk).first()
        if channel is None:
            raise invalid("channel", _("本项目没有这个认知途径"))
    own = not may_see_office(user, project)
    if own:
        # a consultant's reports are their own figures, whatever the query says
        consultant = user
    elif (pk := _pk(params, "consultant")) is not None:
        consultant = sales_people(project).filter(pk=pk).first()
        if consultant is None:
            raise invalid("consultant", _("本项目没有这位置业顾问"))
    return Filters(user, project, start, end, building, consultant, channel, own)


# --- the report -------------------------------------------------------------------------------


class Rows(Sequence):
    """The rows of a long table, built when they are needed: all of them (``every()``,
    once) for the xlsx and whoever iterates them; the page's first ones alone
    (``first(n)``), a page of the API (``window(offset, n)``) and their number
    (``count()``) when only those are asked for. The rows are the same either way:
    ``first(n)`` is the first ``n`` of ``every()``, ``window(offset, n)`` the ``n``
    from ``offset``. ``cells``: (fields, a function giving every row as the tuple of
    those fields' values, in the same order, as a workbook writes them: local times
    without their zone), for a workbook of a long table (``workbook``), which builds
    no row dict then."""

    def __init__(
        self,
        every: Callable,
        first: Callable,
        count: Callable,
        window: Callable | None = None,
        cells: tuple[tuple[str, ...], Callable] | None = None,
    ):
        self._every, self._first, self._count = every, first, count
        self._window = window
        self._cells = cells
        self._rows: list | None = None
        self._len: int | None = None

    def page(self, offset: int, n: int) -> list:
        """The ``n`` rows from ``offset`` (``rows_page``), built alone when it can."""
        if self._rows is None and offset == 0:
            return self[:n]
        if self._rows is None and self._window is not None:
            return list(self._window(offset, n))[:n]
        return self._all()[offset : offset + n]

    def _all(self) -> list:
        if self._rows is None:
            self._rows = list(self._every())
        return self._rows

    def cells(self, fields) -> Iterable | None:
        """Every row as the tuple of ``fields``' values for a workbook, when the rows
        can be read that way and are not built yet (None otherwise)."""
        if self._rows is None and self._cells is not None and tuple(fields) == self._cells[0]:
            return self._cells[1]()
        return None

    def __len__(self) -> int:
        if self._rows is not None:
            return len(self._rows)
        if self._len is None:
            self._len = self._count()
        return self._len

    def __getitem__(self, index):
        if (
            self._rows is None
            and isinstance(index, slice)
            and index.start in (None, 0)
            and index.step in (None, 1)
            and index.stop is not None
            and index.stop >= 0
        ):
            return list(self._first(index.stop))[: index.stop]
        return self._all()[index]

    def __iter__(self):
        return iter(self._all())

    def __eq__(self, other):
        return list(self) == list(other)

    __hash__ = None


@dataclass
class Table:
    """One table of a report: ``columns`` (``core.xlsx.col``: key, header, kind) and
    ``rows`` (dicts by key); ``total`` is the summing row, if any. ``limit`` caps the
    rows the page and the paper show (``shown``), with a note to export the rest; the
    xlsx and the API always hold every row."""

    title: str
    columns: list
    rows: list[dict] | Rows
    total: dict | None = None
    note: str = ""
    limit: int | None = None

    @property
    def shown(self) -> list[dict]:
        """The rows the page and the paper show: the first ``limit`` of them."""
        return self.rows if self.limit is None else self.rows[: self.limit]

    @property
    def cut(self) -> bool:
        """Whether the page shows fewer rows than the table holds."""
        return self.limit is not None and len(self.rows) > self.limit


@dataclass
class Chart:
    """A chart drawn on the server (``charts.svg``): ``kind`` bar, hbar, line, pie or
    funnel; ``labels`` along the axis; ``series`` as (name, values)."""

    title: str
    kind: str
    labels: list[str]
    series: list[tuple[str, list]]


@dataclass
class Figure:
    """A key figure shown big on the page (and first in the API and the xlsx)."""

    label: str
    value: object
    kind: str = "integer"


@dataclass
class Report:
    code: str
    title: str
    filters: Filters
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    @property
    def period(self) -> str:
        f = self.filters
        if f.start == f.end:
            return f"{f.start:%Y-%m-%d}"
        return f"{f.start:%Y-%m-%d} — {f.end:%Y-%m-%d}"


@dataclass
class Spec:
    """A report of the catalogue: ``build(filters) -> Report``; ``period`` its default
    period; ``own`` whether a consultant may open it (their own figures); ``needs``
    what else the viewer must hold (a report that lists buyers needs ``deal.view``)."""

    code: str
    title: str
    group: str
    build: Callable[[Filters], Report]
    period: str = "month"
    own: bool = False
    needs: tuple[str, ...] = ()
    description: str = ""
    # it lists customers' personal data (the buyers of 成交客户档案): its xlsx only with
    # the manager's consent where the project wants it (customers.exports.require_consent)
    personal: bool = False


REPORTS: dict[str, Spec] = {}


def register(spec: Spec) -> Spec:
    REPORTS[spec.code] = spec
    return spec


def may_open(user, project, spec: Spec) -> bool:
    """Whether ``user`` may open ``spec`` on ``project``: the office's reports need
    ``report.view`` (and the spec's ``needs``); a consultant's own, ``report.view_own``."""
    if may_see_office(user, project):
        return all(access.has_perm(user, code, project) for code in spec.needs)
    return spec.own and may_see_own(user, project)


def catalogue_for(user, project) -> list[Spec]:
    return [spec for spec in REPORTS.values() if may_open(user, project, spec)]


def spec_of(code: str) -> Spec:
    spec = REPORTS.get(code)
    if spec is None:
        raise DomainError(ErrorCode.NOT_FOUND, _("没有这个报表"))
    return spec


def build(code: str, user, project, params=None) -> Report:
    """``code``'s report for ``user`` on ``project`` with ``params``' filters: refused
    with 403 when the user may not open it, 400 naming the field for a bad filter."""
    spec = spec_of(code)
    if not may_open(user, project, spec):
        raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有查看该报表的权限"))
    return spec.build(filters_of(user, project, params, period=spec.period))


# --- out: JSON and xlsx -----------------------------------------------------------------------


def plain(value, here=None):
    """A cell as JSON has it: money and areas as strings to the fen, dates as ISO, an
    aware datetime in local time (``here``: the current time zone, when a caller of
    many cells has it already)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        if not timezone.is_aware(value):
            return value.isoformat()
        return value.astimezone(here or timezone.get_current_timezone()).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


FEN_KINDS = ("money", "area")
FEN = Decimal("0.01")


def cell_json(value, kind: str, here=None):
    """A cell of ``kind`` as JSON has it: money and areas to the fen whatever the
    database summed them to (SQLite's SUM keeps trailing places)."""
    if value is None or type(value) is str:  # most cells of a long table: as they are
        return value
    if kind in FEN_KINDS and isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(Decimal(value).quantize(FEN))
    return plain(value, here)


def json_rows(columns, rows) -> list[dict]:
    """``rows`` as JSON has them, each cell by ``cell_json``: text and empty cells, most
    of a long table's, as they are without a call (a year's 成交客户档案 is four hundred
    thousand cells), the time zone read once."""
    keys = [(c.field, c.kind) for c in columns]
    here = timezone.get_current_timezone()
    return [
        {
            key: value
            if (value := row.get(key)) is None or type(value) is str
            else cell_json(value, kind, here)
            for key, kind in keys
        }
        for row in rows
    ]


# The API's page of the long tables (``page``, ``page_size``): a year's 成交客户档案 is
# twenty thousand lines, which took over a second to build and send whole.
PAGE_SIZE = 500
MAX_PAGE_SIZE = 5000


@dataclass(frozen=True)
class Page:
    """Which rows of every table the API answers with: the ``size`` rows of page
    ``number`` (from 1)."""

    number: int = 1
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size


def _positive(params, name: str, default: int, most: int | None = None) -> int:
    """``params``' ``name`` as a whole number from 1 (to ``most``); ``default`` when it
    is missing; refused with ``page_invalid`` naming the field otherwise."""
    raw = params.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return default
    text = str(raw).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 9 or int(text) < 1:
        reason = _("应为不小于 1 的整数")
    elif most is not None and int(text) > most:
        reason = _("最大为 %(most)s") % {"most": most}
    else:
        return int(text)
    message = _("%(name)s：%(reason)s") % {"name": name, "reason": reason}
    raise invalid(name, reason, message, code=ReportError.PAGE_INVALID)


def page_of(params) -> Page:
    """The page of ``params``: ``page`` (from 1, default 1) and ``page_size`` (1 to
    ``MAX_PAGE_SIZE``, default ``PAGE_SIZE``); anything else is refused with
    ``page_invalid`` naming the field."""
    params = params or {}
    return Page(
        _positive(params, "page", 1),
        _positive(params, "page_size", PAGE_SIZE, MAX_PAGE_SIZE),
    )


def rows_page(rows, page: Page) -> list:
    """``page``'s rows of a table's ``rows`` (an ``Rows`` builds only those)."""
    if isinstance(rows, Rows):
        return rows.page(page.offset, page.size)
    return list(rows[page.offset : page.offset + page.size])


def as_json(report: Report, page: Page | None = None) -> dict:
    """The figures and tables the page shows: every row of every table, or with
    ``page`` (the API's answer) that page's rows of each, with each table's ``count``
    of rows in the whole period and the number of ``pages`` of the longest (the totals
    and key figures are the whole period's either way)."""
    tables = [(t, t.rows if page is None else rows_page(t.rows, page)) for t in report.tables]
    paging = {}
    if page is not None:
        counts = [len(t.rows) for t in report.tables]
        paging = {
            "page": page.number,
            "page_size": page.size,
            "pages": max([1, *(-(-n // page.size) for n in counts)]),
        }
    return {
        "code": report.code,
        "title": report.title,
        "project": report.filters.project.pk,
        "filters": report.filters.as_dict(),
        "figures": [
            {"label": f.label, "value": cell_json(f.value, f.kind), "kind": f.kind}
            for f in report.figures
        ],
        "tables": [
            {
                "title": t.title,
                "columns": [
                    {"key": c.field, "header": c.header, "kind": c.kind} for c in t.columns
                ],
                "rows": json_rows(t.columns, rows),
                **({"count": len(t.rows)} if page is not None else {}),
                "total": (
                    {c.field: cell_json(t.total.get(c.field), c.kind) for c in t.columns}
                    if t.total
                    else None
                ),
            }
            for t, rows in tables
        ],
        "notes": report.notes,
        **paging,
        **({"extra": {k: plain(v) for k, v in report.extra.items()}} if report.extra else {}),
    }


def workbook(report: Report) -> tuple[bytes, int]:
    """The report as a workbook: a first sheet with the title, filters and key figures,
    then one sheet per table with Chinese headers and number formats (money #,##0.00).
    openpyxl makes the workbook (write-only), the sheets, their headers and the cell
    styles; the tables' rows are written into the saved sheets as XML
    (``core.xlsx.rows_xml``, ``fill_sheets``): a year's 成交客户档案 is twenty thousand
    lines of twenty cells, and openpyxl's cells took seconds. Returns the file and the
    number of rows written (the total rows included)."""
    book = Workbook(write_only=True)
    head = book.create_sheet("概要")
    head.column_dimensions["A"].width = 24
    head.column_dimensions["B"].width = 24
    title = WriteOnlyCell(head, value=report.title)
    title.font = Font(bold=True, size=14)
    head.append([title])
    head.append([str(report.filters.project), report.period])
    for figure in report.figures:
        value = WriteOnlyCell(head, value=xlsx.excel_value(figure.value))
        if figure.kind in xlsx.NUMBER_FORMATS:
            value.number_format = xlsx.NUMBER_FORMATS[figure.kind]
        head.append([figure.label, value])
    for note in report.notes:
        head.append([note])
    bold = Font(bold=True)
    count = 0
    used: set[str] = set()
    bodies = []
    for i, table in enumerate(report.tables, start=1):
        name = (table.title or f"表{i}")[:28]
        for ch in "[]:*?/\\":
            name = name.replace(ch, " ")
        if name in used:
            name = f"{name[:25]}{i}"
        used.add(name)
        sheet = book.create_sheet(name)
        for index, column in enumerate(table.columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        header = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, value=column.header)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        formats = [xlsx.NUMBER_FORMATS.get(c.kind) for c in table.columns]
        styles = xlsx.column_styles(sheet, formats)
        total_styles = xlsx.column_styles(sheet, formats, font=bold)
        bodies.append((sheet, table, styles, total_styles))
    content = xlsx.save(book)

    def lines(table, styles, total_styles):
        nonlocal count
        fields = [c.field for c in table.columns]
        every = itemgetter(*fields) if len(fields) > 1 else None

        def cells(row):
            # the cells in the columns' order: one C call for a row holding every key
            # (the long tables' lines), ``get`` for one that leaves some out
            if every is not None and type(row) is dict:
                try:
                    return every(row)
                except KeyError:
                    pass
            return [row.get(key) for key in fields]

        values = table.rows.cells(fields) if isinstance(table.rows, Rows) else None
        if values is None:
            values = (cells(row) for row in table.rows)
        written = 0
        for line in xlsx.rows_xml(values, styles):
            written += 1
            yield line
        count += written
        if table.total:
            count += 1
            total = [table.total.get(key) for key in fields]
            yield from xlsx.rows_xml([total], total_styles, first=written + 2)

    content = xlsx.fill_sheets(
        content,
        {sheet.path.lstrip("/"): lines(table, s, t) for sheet, table, s, t in bodies},
    )
    return content, count


def export_functions(spec: Spec):
    """``spec``'s export and its filters' check as an export request registers them
    (``core.pages.query_builder``: ``f(*, actor, project, params)``)."""

    def content(*, actor, project, params):
        return export(actor=actor, project=project, code=spec.code, params=params)

    def check(*, actor, project, params):
        filters_of(actor, project, params, period=spec.period)

    return content, check


def export(*, actor, project, code: str, params=None) -> bytes:
    """``code``'s report as an xlsx, recorded in the audit trail as an export with its
    filters (personal data in it is masked as the viewer sees it on the page); a report
    of customers' personal data (``Spec.personal``) only with the manager's consent
    where the project wants it."""
    spec = REPORTS.get(code)
    if spec is not None and spec.personal:
        customer_exports.require_consent(project)
    report = build(code, actor, project, params)
    content, count = workbook(report)
    xlsx.audit_export(
        actor=actor,
        project=project,
        what=f"reports.{code}",
        count=count,
        filters={"report": code, **report.filters.as_dict()},
    )
    return content


def percent(part, whole) -> Decimal | None:
    """``part`` of ``whole`` in percent to one place (None when there is no whole)."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def ratio(money, count) -> Decimal | None:
    """Money per item to the fen (cost per call, per visit, per deal)."""
    if not count:
        return None
    return (Decimal(money) / Decimal(count)).quantize(Decimal("0.01"))
