"""销售周报, 成交客户档案, 销售月报, 转化漏斗 and 目标达成 (reports/periodic.py).

Every expected figure is counted here from the raw rows (calls, visits, customers,
deals, cancellations, ledger entries, targets) in Python, never through the reports'
own selectors, so a wrong filter or grouping in the reports shows as a difference."""

import datetime
import io
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from loupan.core.errors import DomainError
from loupan.core.xlsx import col, excel_value
from loupan.customers.models import CallRecord, Channel, Customer, Visit
from loupan.deals import reports as deal_reports
from loupan.deals import services as deal_services
from loupan.deals.models import Cancellation, Deal, DealBuyer
from loupan.payments.models import LedgerEntry
from loupan.reports import engine, periodic
from loupan.reports import office as office_services
from loupan.reports.models import Target
from tests.deals.helpers import customer_of, free_unit, project, subscribed, subscribed_by_two, user
from tests.testing import api_client, web_client

pytestmark = pytest.mark.django_db

ZERO = Decimal("0.00")
NO_CHANNEL = "未填写"


# --- independent counting ---------------------------------------------------------------------


def whose(entry) -> int | None:
    """The consultant a ledger row counts for: its deal's, or (a sincerity deposit, no
    deal yet) its customer's owner."""
    return entry.deal.consultant_id if entry.deal_id else entry.customer.owner_id


def local_day(moment):
    return timezone.localtime(moment).date()


def pct(part, whole):
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def name_of(u):
    return u.real_name or u.username


def week_of(day):
    start = day - datetime.timedelta(days=day.weekday())
    return start, start + datetime.timedelta(days=6)


def month_of(day):
    start = day.replace(day=1)
    end = (start + datetime.timedelta(days=32)).replace(day=1) - datetime.timedelta(days=1)
    return start, end


def sales_deals(p, start, end, consultant=None):
    """Deals subscribed between the days (an exchange's new deal is not a sale)."""
    return [
        d
        for d in Deal.objects.filter(project=p, exchanged_from__isnull=True)
        if d.subscribed_at
        and start <= local_day(d.subscribed_at) <= end
        and (consultant is None or d.consultant_id == consultant.pk)
    ]


def expected_days(p, start, end, consultant=None):
    """Per local day: the figures of one row of the weekly report."""

    def mine(pk):
        return consultant is None or pk == consultant.pk

    days = defaultdict(
        lambda: {
            "calls": 0,
            "first": 0,
            "returning": 0,
            "new": 0,
            "subscribed": 0,
            "subscribed_amount": ZERO,
            "contracted": 0,
            "contracted_amount": ZERO,
            "cancelled": 0,
            "money": ZERO,
        }
    )
    for c in CallRecord.objects.filter(project=p, is_research=False):
        if mine(c.received_by_id):
            days[local_day(c.called_at)]["calls"] += 1
    for v in Visit.objects.filter(customer__project=p):
        if mine(v.consultant_id):
            days[local_day(v.visited_at)]["first" if v.is_first else "returning"] += 1
    for c in Customer.objects.filter(project=p):
        if mine(c.registered_by_id):
            days[local_day(c.registered_at)]["new"] += 1
    for d in Deal.objects.filter(project=p):
        if not mine(d.consultant_id):
            continue
        if d.subscribed_at and d.exchanged_from_id is None:
            row = days[local_day(d.subscribed_at)]
            row["subscribed"] += 1
            row["subscribed_amount"] += d.total
        if d.signed_on:
            days[d.signed_on]["contracted"] += 1
            days[d.signed_on]["contracted_amount"] += d.total
    for c in Cancellation.objects.filter(deal__project=p).select_related("deal"):
        if mine(c.deal.consultant_id):
            days[local_day(c.cancelled_at)]["cancelled"] += 1
    for e in (
        LedgerEntry.objects.filter(project=p)
        .exclude(kind="carry")
        .select_related("deal", "customer")
    ):
        if mine(whose(e)):
            days[e.paid_on]["money"] += e.amount
    return {
        start + datetime.timedelta(days=i): days[start + datetime.timedelta(days=i)]
        for i in range((end - start).days + 1)
    }


def sum_rows(rows):
    total = defaultdict(int)
    for row in rows:
        for k, v in row.items():
            total[k] += v
    return dict(total)


def table(report, title):
    return next(t for t in report.tables if t.title == title)


def row_figures(row, keys):
    return {k: row[k] for k in keys}


DAY_KEYS = [
    "calls",
    "first",
    "returning",
    "new",
    "subscribed",
    "subscribed_amount",
    "contracted",
    "contracted_amount",
    "cancelled",
    "money",
]


# --- the office of the tests ------------------------------------------------------------------


def deal_of(consultant_name, offset, phone, occupation=""):
    """A subscribed deal of ``consultant_name`` whose deposit finance has confirmed."""
    consultant = user(consultant_name)
    buyer = customer_of(consultant_name, phone=phone)
    if occupation:
        Customer.objects.filter(pk=buyer.pk).update(occupation=occupation)
    deal = deal_services.deal_reserve(actor=consultant, unit=free_unit(offset), customer=buyer)
    deal = deal_services.deal_subscribe(
        actor=consultant,
        deal=deal,
        buyers=[(buyer, "100")],
        payment_method="commercial",
        deposit="50000",
    )
    return deal_services.deal_confirm_deposit(actor=user("finance"), deal=deal)


@pytest.fixture
def office(demo):
    """Today's calls (one a peer's research call), a returning visit, two deals of the
    consultant (one signed) and one of consultant2, and the month's targets."""
    p = project()
    today = timezone.localdate()
    now = timezone.now()
    consultant, consultant2 = user("consultant"), user("consultant2")
    channels = list(Channel.objects.filter(project=p).order_by("pk"))
    for i, (who, channel) in enumerate(
        [(consultant, channels[0]), (consultant, channels[1]), (consultant2, None)]
    ):
        CallRecord.objects.create(
            project=p, received_by=who, called_at=now, name=f"来电{i}", channel=channel
        )
    CallRecord.objects.create(
        project=p, received_by=consultant, called_at=now, is_research=True, competitor="某地产"
    )
    signed = subscribed(0, phone="13700002221", contract=True)
    Customer.objects.filter(pk=signed.customer_id).update(occupation="教师")
    own = subscribed(1, phone="13700002232")
    other = deal_of("consultant2", 2, "13700002243", occupation="医生")
    Visit.objects.create(
        customer=own.customer, consultant=consultant, visited_at=now, is_first=False
    )
    month = today.replace(day=1)
    manager = user("manager")
    targets = {
        who.pk if who else None: office_services.target_set(
            actor=manager,
            project=p,
            month=month,
            consultant=who,
            amount=amount,
            units=units,
            collections=collections,
        )
        for who, amount, units, collections in [
            (None, "10000000", 10, "2000000"),
            (consultant, "5000000", 4, "500000"),
            (consultant2, "3000000", 3, "300000"),
        ]
    }
    return {
        "project": p,
        "today": today,
        "signed": signed,
        "own": own,
        "other": other,
        "targets": targets,
        "consultant": consultant,
        "consultant2": consultant2,
    }


def build(code, username, **params):
    return engine.build(code, user(username), project(), params)


# --- 销售周报 ----------------------------------------------------------------------------------


def test_weekly_days_match_the_rows(office):
    today = office["today"]
    report = build("weekly", "manager", date=today.isoformat())
    start, end = week_of(today)
    assert (report.filters.start, report.filters.end) == (start, end)
    expected = expected_days(office["project"], start, end)
    days = table(report, "每日汇总")
    assert len(days.rows) == 7
    for row, (day, figures) in zip(days.rows, expected.items(), strict=True):
        assert row["day"].startswith(day.isoformat())
        assert row_figures(row, DAY_KEYS) == figures, day
    week = sum_rows(expected.values())
    assert row_figures(days.total, DAY_KEYS) == week
    # the week's key figures (the daily report's, over the week) agree with its days
    figures = {f.label: f.value for f in report.figures}
    assert figures["来电"] == week["calls"]
    assert figures["认购套数"] == week["subscribed"]
    assert figures["认购金额（元）"] == week["subscribed_amount"]
    assert figures["回款净额（元）"] == week["money"]
    assert week["calls"] >= 3 and week["subscribed"] >= 3 and week["contracted"] >= 1
    chart = report.charts[0]
    assert chart.kind == "line" and len(chart.labels) == 7


def test_weekly_holds_the_archive_and_the_month_touched(office):
    today = office["today"]
    report = build("weekly", "manager", date=today.isoformat())
    archive = table(report, "成交客户档案")
    start, end = week_of(today)
    standing = [
        d
        for d in sales_deals(office["project"], start, end)
        if d.status in ("subscribed", "contracted")
    ]
    assert {line["number"] for line in archive.rows} == {d.number for d in standing}
    assert [c.field for c in archive.columns] == [c.field for c in deal_reports.OWNER_COLUMNS]
    targets = table(report, "目标达成")
    assert {r["month_start"] for r in targets.rows} == {start.replace(day=1), end.replace(day=1)}


def test_weekly_of_a_consultant_is_their_own(office):
    consultant = office["consultant"]
    today = office["today"]
    # asking for another consultant's figures changes nothing: a consultant sees their own
    report = build(
        "weekly", "consultant", date=today.isoformat(), consultant=office["consultant2"].pk
    )
    assert report.filters.own and report.filters.consultant == consultant
    start, end = week_of(today)
    expected = expected_days(office["project"], start, end, consultant)
    days = table(report, "每日汇总")
    for row, figures in zip(days.rows, expected.values(), strict=True):
        assert row_figures(row, DAY_KEYS) == figures
    everyone = sum_rows(expected_days(office["project"], start, end).values())
    assert days.total["calls"] < everyone["calls"]
    people = table(report, "置业顾问")
    assert {r["consultant"] for r in people.rows} == {name_of(consultant)}
    # their archive: their own buyers, numbers in full (they own the customers)
    archive = table(report, "成交客户档案")
    numbers = {line["number"] for line in archive.rows}
    assert office["own"].number in numbers and office["other"].number not in numbers
    assert "13700002232" in {line["phone"] for line in archive.rows}
    assert {r["consultant"] for r in table(report, "目标达成").rows} == {name_of(consultant)}


def test_weekly_leaves_out_the_archive_for_who_may_not_see_buyers(office):
    report = build("weekly", "planner", date=office["today"].isoformat())
    assert "成交客户档案" not in [t.title for t in report.tables]


def test_weekly_refuses_a_bad_date(office):
    with pytest.raises(DomainError) as caught:
        engine.build("weekly", user("manager"), project(), {"date": "2026-13-01"})
    assert caught.value.code == "invalid"
    assert "date" in caught.value.fields


def test_weekly_queries_do_not_grow_with_the_days(office):
    """One grouped query per source: a week and two months cost the same queries."""
    today = office["today"]
    build("weekly", "manager", date=today.isoformat())  # warm the permission cache
    manager = user("manager")

    def queries(params):
        engine.build("weekly", manager, project(), params)  # the user's grants cached
        with CaptureQueriesContext(connection) as ctx:
            engine.build("weekly", manager, project(), params)
        return len(ctx.captured_queries)

    week = queries({"date": today.isoformat()})
    longer = queries(
        {
            "start": (today - datetime.timedelta(days=60)).isoformat(),
            "end": today.isoformat(),
        }
    )
    assert longer == week


# --- 成交客户档案 ------------------------------------------------------------------------------


def test_buyers_lists_the_weeks_buyers_masked(office):
    report = build("buyers", "finance", date=office["today"].isoformat())
    start, end = week_of(office["today"])
    standing = [
        d
        for d in sales_deals(office["project"], start, end)
        if d.status in ("subscribed", "contracted")
    ]
    buyers = DealBuyer.objects.filter(deal__in=standing).select_related("customer")
    lines = report.tables[0].rows
    assert len(lines) == buyers.count()
    assert {(line["number"], line["name"]) for line in lines} == {
        (b.deal.number, b.customer.name) for b in buyers
    }
    # finance may not reveal numbers and owns no customer: every number is masked
    phones = [line["phone"] for line in lines]
    assert all("****" in phone for phone in phones if phone)
    for raw in ("13700002221", "13700002232", "13700002243"):
        assert raw not in phones
    assert "137****2221" in phones
    figures = {f.label: f.value for f in report.figures}
    assert figures["成交套数"] == len(standing)
    assert figures["成交金额（元）"] == sum((d.total for d in standing), ZERO)


def test_a_table_limit_caps_the_page_and_the_paper_only(office):
    """``Table.limit``: the page and the paper show the first ``limit`` rows and say so;
    the API's JSON and the xlsx keep every row."""
    columns = [col("n", "序号", "integer")]
    rows = [{"n": i} for i in range(5)]
    capped = engine.Table("长表", columns, rows, limit=3)
    assert capped.shown == rows[:3] and capped.cut
    assert engine.Table("长表", columns, rows, limit=5).cut is False
    whole = engine.Table("长表", columns, rows)
    assert whole.shown == rows and not whole.cut
    html = render_to_string("reports/parts/table.html", {"table": capped})
    body = html.split("<tbody>")[1].split("</tbody>")[0]
    assert body.count("<tr>") == 3 and "仅显示前 3 行，完整数据请导出 Excel" in html
    assert "仅显示前" not in render_to_string("reports/parts/table.html", {"table": whole})
    f = engine.filters_of(user("manager"), office["project"], {})
    report = engine.Report("test", "测试", f, tables=[capped])
    assert [r["n"] for r in engine.as_json(report)["tables"][0]["rows"]] == list(range(5))
    content, count = engine.workbook(report)
    sheet = load_workbook(io.BytesIO(content))["长表"]
    assert count == 5 and [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)] == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_the_archive_page_shows_its_first_lines(office, monkeypatch):
    """A long 成交客户档案 shows its first ``ARCHIVE_PAGE_ROWS`` lines on the page and on
    paper with a note to export; the API and the xlsx hold every line."""
    monkeypatch.setattr(periodic, "ARCHIVE_PAGE_ROWS", 2)
    p, day = office["project"], office["today"].isoformat()
    report = build("buyers", "finance", date=day)
    lines = report.tables[0].rows
    assert len(lines) >= 3 and report.tables[0].limit == 2
    note = "仅显示前 2 行，完整数据请导出 Excel"
    web = web_client(user("finance"))
    for extra in ("", "&print=1"):
        page = web.get(f"/projects/{p.pk}/reports/buyers/?date={day}{extra}")
        html = page.content.decode()
        assert page.status_code == 200 and note in html
        assert html.split("<tbody>")[1].split("</tbody>")[0].count("<tr>") == 2
    data = api_client(user("finance")).get(f"/api/v1/reports/buyers/?project={p.pk}&date={day}")
    assert len(data.json()["tables"][0]["rows"]) == len(lines)
    content, _count = engine.workbook(report)
    sheet = load_workbook(io.BytesIO(content))["成交客户档案"]
    assert sheet.max_row == len(lines) + 1
    monkeypatch.setattr(periodic, "ARCHIVE_PAGE_ROWS", len(lines))
    html = web.get(f"/projects/{p.pk}/reports/buyers/?date={day}").content.decode()
    assert "仅显示前" not in html
    assert html.split("<tbody>")[1].split("</tbody>")[0].count("<tr>") == len(lines)


def test_the_archive_page_builds_its_first_lines_alone(office, monkeypatch):
    """The page's first lines and their number come without building every line
    (``engine.Rows``), and are the first lines of the whole archive."""
    monkeypatch.setattr(periodic, "ARCHIVE_PAGE_ROWS", 2)
    day = office["today"].isoformat()
    table = build("buyers", "finance", date=day).tables[0]
    shown, cut, count = table.shown, table.cut, len(table.rows)
    assert isinstance(table.rows, engine.Rows) and table.rows._rows is None
    every = list(build("buyers", "finance", date=day).tables[0].rows)
    assert len(every) >= 3 and count == len(every) and cut
    assert shown == every[:2] and list(table.rows) == every


def test_the_archive_costs_the_same_queries_whatever_its_deals(office):
    """The 成交客户档案 reads its deals and their buyers in a fixed number of queries
    (only the columns it shows: a column it would read later would cost one a row)."""

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            report = build("buyers", "finance", date=office["today"].isoformat())
        return len(ctx.captured_queries), len(report.tables[0].rows)

    before, lines = queries()
    deal_of("consultant2", 3, "13700002254", occupation="律师")
    deal_of("consultant", 4, "13700002265")
    after, more = queries()
    assert more == lines + 2 and after == before


def _cells(content):
    """Every cell of every sheet of a workbook: (sheet, coordinate, value, number format,
    bold)."""
    book = load_workbook(io.BytesIO(content))
    return [
        (sheet.title, cell.coordinate, cell.value, cell.number_format, cell.font.b)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
    ]


def test_the_archive_workbook_from_cells_is_the_workbook_of_its_lines(office):
    """A long 成交客户档案's xlsx reads its lines as cells (``deals.reports.owner_cells``:
    one query, no line dicts, local times from the database on PostgreSQL): the cells
    are the lines' values column by column, and the workbook is the one its lines make
    (``Rows`` without ``cells``), cell by cell with the number formats, contacts masked
    as the viewer may see them."""
    first = customer_of("consultant", phone="13700030001", name="甲买受人")
    second = customer_of("consultant", phone="13700030002", name="乙买受人")
    Customer.objects.filter(pk=second.pk).update(education="master", occupation="教师")
    subscribed_by_two(free_unit(5), first, second)
    day = office["today"].isoformat()
    for code, viewer in (("buyers", "finance"), ("buyers", "manager"), ("weekly", "consultant")):
        report = build(code, viewer, date=day)
        table = next(t for t in report.tables if t.title == "成交客户档案")
        lines = list(build(code, viewer, date=day).tables[report.tables.index(table)].rows)
        cells = list(table.rows.cells(periodic.OWNER_FIELDS))
        assert len(cells) == len(lines) >= 2
        assert cells == [
            tuple(excel_value(line[f]) for f in periodic.OWNER_FIELDS) for line in lines
        ]
        if viewer == "finance":
            assert all("****" in c[11] for c in cells if c[11])
        fast, _count = engine.workbook(build(code, viewer, date=day))
        reference = build(code, viewer, date=day)
        for t in reference.tables:
            if isinstance(t.rows, engine.Rows):
                t.rows._cells = None  # the lines as dicts, as before
        slow, _count = engine.workbook(reference)
        assert _cells(fast) == _cells(slow)
        assert any(c[2] == "乙买受人" for c in _cells(fast))


def test_the_api_pages_the_archive(office):
    """``GET /api/v1/reports/buyers/`` answers a page of the 成交客户档案 at a time
    (``page``, ``page_size``): the pages laid end to end are every line in order (a
    deal of two buyers cut by a page's end included), each page says the whole period's
    ``count`` and ``pages``, and the key figures are the period's whatever the page."""
    archive_office(office)
    p, day = office["project"], office["today"].isoformat()
    every = engine.as_json(build("buyers", "manager", date=day))["tables"][0]["rows"]
    assert len(every) >= 4
    client = api_client(user("manager"))
    url = f"/api/v1/reports/buyers/?project={p.pk}&date={day}"
    whole = client.get(url).json()
    assert (whole["page"], whole["page_size"], whole["pages"]) == (1, engine.PAGE_SIZE, 1)
    assert whole["tables"][0]["rows"] == every and whole["tables"][0]["count"] == len(every)
    for size in (1, 2, 3):
        pages = -(-len(every) // size)
        got = []
        for number in range(1, pages + 2):  # one past the end: no rows
            body = client.get(f"{url}&page={number}&page_size={size}").json()
            assert (body["page"], body["page_size"], body["pages"]) == (number, size, pages)
            assert body["tables"][0]["count"] == len(every)
            assert body["figures"] == whole["figures"]
            got.extend(body["tables"][0]["rows"])
        assert got == every


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page_size=0", "page_size"),
        ("page_size=x", "page_size"),
        (f"page_size={engine.MAX_PAGE_SIZE + 1}", "page_size"),
    ],
)
def test_a_bad_page_is_refused_naming_the_field(office, query, field):
    p = office["project"]
    answer = api_client(user("manager")).get(f"/api/v1/reports/buyers/?project={p.pk}&{query}")
    body = answer.json()
    assert answer.status_code == 400 and body["code"] == "page_invalid", body
    assert list(body["fields"]) == [field] and body["message"].startswith(f"{field}：")


def test_a_later_page_of_the_archive_is_built_alone(office):
    """A later page's lines come without building every line (``Rows.window``)."""
    archive_office(office)
    day = office["today"].isoformat()
    every = list(build("buyers", "manager", date=day).tables[0].rows)
    for offset in range(len(every) + 1):
        for n in (1, 2, 5):
            rows = build("buyers", "manager", date=day).tables[0].rows
            assert rows.page(offset, n) == every[offset : offset + n]
            assert rows._rows is None


def archive_office(office):
    """The office with a deal of two buyers (a retired occupation, an education, a
    second buyer owned by another consultant)."""
    first = customer_of(phone="13700002276", name="甲买受人")
    second = customer_of(phone="13700002287", name="乙买受人")
    Customer.objects.filter(pk=first.pk).update(occupation="教师", education="master")
    Customer.objects.filter(pk=second.pk).update(occupation="已废职业", income_band="20-30万")
    deal = subscribed_by_two(free_unit(5), first, second, payment_method="provident")
    # the second buyer now another consultant's: masked for the deal's consultant
    Customer.objects.filter(pk=second.pk).update(owner=user("consultant2"))
    return deal


@pytest.mark.parametrize(
    ("code", "username", "language"),
    [("buyers", "manager", "zh-hans"), ("buyers", "finance", "en"), ("weekly", "consultant", "en")],
)
def test_the_archive_is_the_model_based_lines(office, code, username, language):
    """The 成交客户档案 the reports build from values rows (no model instance) is, line
    for line and key for key, what ``deals.reports.owner_lines`` gives from the deals as
    model instances (less the instance the deal pages link to), for the office and for a
    consultant's own, in either language; and so are its page's first lines, its JSON
    and its xlsx."""
    from django.utils import translation

    archive_office(office)
    start, end = week_of(office["today"])
    viewer = user(username)
    mine = viewer if code == "weekly" else None
    standing = [d.pk for d in sales_deals(office["project"], start, end, mine)]
    with translation.override(language):
        report = build(code, username, date=office["today"].isoformat())
        archive = next(t for t in report.tables if t.columns is deal_reports.OWNER_COLUMNS)
        lines = archive.rows
        deals = deal_reports.owners(Deal.objects.filter(pk__in=standing))
        expected = [
            {k: v for k, v in line.items() if k != "deal"}
            for d in deals
            for line in deal_reports.owner_lines(viewer, d)
        ]
        shown = lines[:2]
        every = list(lines)
        model_based = engine.Table("成交客户档案", deal_reports.OWNER_COLUMNS, expected)
        same = engine.Report(code, report.title, report.filters, tables=[model_based])
        json_of = engine.as_json(
            engine.Report(code, report.title, report.filters, tables=[archive])
        )
        json_expected = engine.as_json(same)
        files = [
            engine.workbook(engine.Report(code, "x", report.filters, tables=[t]))[0]
            for t in (archive, model_based)
        ]
    assert len(expected) >= 4 and any(line["span"] == 2 for line in expected)
    assert every == expected and [list(x) for x in every] == [list(x) for x in expected]
    assert shown == expected[:2]
    assert json_of["tables"][0]["rows"] == json_expected["tables"][0]["rows"]
    assert json_of["tables"][0]["rows"] == [
        {c.field: engine.cell_json(line[c.field], c.kind) for c in deal_reports.OWNER_COLUMNS}
        for line in expected
    ]
    read = [
        list(load_workbook(io.BytesIO(f)).worksheets[1].iter_rows(values_only=True)) for f in files
    ]
    assert read[0] == read[1] and len(read[0]) == len(expected) + 1
    if language == "en":
        assert "Master or higher" in {line["education"] for line in every}


@pytest.mark.parametrize("username", ["consultant", "planner", "service"])
def test_buyers_needs_deal_view(office, username):
    with pytest.raises(DomainError) as caught:
        build("buyers", username)
    assert caught.value.code == "permission_denied"


@pytest.mark.parametrize("code", ["weekly", "monthly", "funnel", "targets"])
def test_the_reports_need_a_report_permission(office, code):
    with pytest.raises(DomainError) as caught:
        build(code, "service")
    assert caught.value.code == "permission_denied"
    assert build(code, "consultant").code == code  # their own figures


# --- 转化漏斗 ----------------------------------------------------------------------------------


def expected_funnel(p, start, end, by, consultant=None):
    """Per consultant or channel: calls, first visits, subscriptions, contracts."""
    rows = defaultdict(lambda: {"calls": 0, "visits": 0, "subscribed": 0, "contracted": 0})

    def mine(pk):
        return consultant is None or pk == consultant.pk

    for c in CallRecord.objects.filter(project=p, is_research=False):
        if start <= local_day(c.called_at) <= end and mine(c.received_by_id):
            rows[c.received_by_id if by == "consultant" else c.channel_id]["calls"] += 1
    for v in Visit.objects.filter(customer__project=p, is_first=True).select_related("customer"):
        if start <= local_day(v.visited_at) <= end and mine(v.consultant_id):
            rows[v.consultant_id if by == "consultant" else v.customer.channel_id]["visits"] += 1
    for d in Deal.objects.filter(project=p).select_related("customer"):
        if not mine(d.consultant_id):
            continue
        key = d.consultant_id if by == "consultant" else d.customer.channel_id
        if d.subscribed_at and d.exchanged_from_id is None:
            if start <= local_day(d.subscribed_at) <= end:
                rows[key]["subscribed"] += 1
        if d.signed_on and start <= d.signed_on <= end:
            rows[key]["contracted"] += 1
    if by == "consultant":
        from loupan.accounts.models import User

        names = {u.pk: name_of(u) for u in User.objects.filter(pk__in=[k for k in rows if k])}
    else:
        names = dict(Channel.objects.filter(project=p).values_list("pk", "name"))
    return {names.get(k) or NO_CHANNEL: r for k, r in rows.items()}


FUNNEL_KEYS = ["calls", "visits", "subscribed", "contracted"]


@pytest.mark.parametrize("by, title", [("consultant", "置业顾问"), ("channel", "认知途径")])
def test_funnel_matches_the_rows(office, by, title):
    today = office["today"]
    report = build("funnel", "director", date=today.isoformat())
    start, end = month_of(today)
    expected = expected_funnel(office["project"], start, end, by)
    got = table(report, f"转化漏斗（按{title}）")
    assert {r["name"]: row_figures(r, FUNNEL_KEYS) for r in got.rows} == expected
    for r in got.rows:
        assert r["visit_rate"] == pct(r["visits"], r["calls"])
        assert r["subscribe_rate"] == pct(r["subscribed"], r["visits"])
        assert r["contract_rate"] == pct(r["contracted"], r["subscribed"])
    total = sum_rows(expected.values())
    assert row_figures(got.total, FUNNEL_KEYS) == total
    assert got.total["contract_rate"] == pct(total["contracted"], total["subscribed"])
    chart = report.charts[0]
    assert chart.kind == "funnel"
    assert chart.series[0][1] == [total[k] for k in FUNNEL_KEYS]


def test_funnel_of_a_consultant_is_their_own(office):
    consultant = office["consultant"]
    today = office["today"]
    report = build("funnel", "consultant", date=today.isoformat())
    start, end = month_of(today)
    got = table(report, "转化漏斗（按置业顾问）")
    assert [r["name"] for r in got.rows] == [name_of(consultant)]
    expected = expected_funnel(office["project"], start, end, "consultant", consultant)
    assert {r["name"]: row_figures(r, FUNNEL_KEYS) for r in got.rows} == expected
    channels = table(report, "转化漏斗（按认知途径）")
    assert row_figures(channels.total, FUNNEL_KEYS) == sum_rows(expected.values())


def test_funnel_honours_the_channel_filter(office):
    channel = Channel.objects.filter(project=office["project"]).order_by("pk").first()
    today = office["today"]
    report = build("funnel", "manager", date=today.isoformat(), channel=channel.pk)
    start, end = month_of(today)
    expected = expected_funnel(office["project"], start, end, "channel")
    got = table(report, "转化漏斗（按认知途径）")
    assert [r["name"] for r in got.rows] == [channel.name]
    assert row_figures(got.rows[0], FUNNEL_KEYS) == expected[channel.name]


# --- 目标达成 ----------------------------------------------------------------------------------


def achieved(p, month_start, month_end, consultant=None):
    deals = sales_deals(p, month_start, month_end, consultant)
    money = sum(
        (
            e.amount
            for e in LedgerEntry.objects.filter(project=p).exclude(kind="carry")
            if month_start <= e.paid_on <= month_end
            and (consultant is None or whose(e) == consultant.pk)
        ),
        ZERO,
    )
    return {
        "amount": sum((d.total for d in deals), ZERO),
        "units": len(deals),
        "collections": money,
    }


def test_targets_against_what_was_achieved(office):
    today = office["today"]
    p = office["project"]
    start, end = month_of(today)
    report = build("targets", "manager", date=today.isoformat())
    rows = {r["consultant_id"]: r for r in report.tables[0].rows}
    consultant, consultant2 = office["consultant"], office["consultant2"]
    assert rows[None]["consultant"] == "项目合计"
    for who, u in [(None, None), (consultant.pk, consultant), (consultant2.pk, consultant2)]:
        row, target = rows[who], office["targets"][who]
        done = achieved(p, start, end, u)
        assert row_figures(row, ["amount", "units", "collections"]) == done
        assert row["target_amount"] == target.amount
        assert row["amount_pct"] == pct(done["amount"], target.amount)
        assert row["units_pct"] == pct(done["units"], target.units)
        assert row["collections_pct"] == pct(done["collections"], target.collections)
    assert rows[consultant.pk]["units"] >= 2 and rows[consultant2.pk]["units"] >= 1
    assert periodic.achievement(report.filters) == report.tables[0].rows


def test_targets_of_a_consultant_are_their_own(office):
    consultant = office["consultant"]
    today = office["today"]
    start, end = month_of(today)
    report = build("targets", "consultant", date=today.isoformat())
    rows = report.tables[0].rows
    assert [(r["consultant_id"], r["consultant"]) for r in rows] == [
        (consultant.pk, name_of(consultant))
    ]
    assert row_figures(rows[0], ["amount", "units", "collections"]) == achieved(
        office["project"], start, end, consultant
    )
    assert rows[0]["target_units"] == 4


def test_targets_of_a_week_run_from_the_first_of_its_months(office):
    """A week that straddles two months shows each month's progress up to the week's end."""
    p = office["project"]
    today = office["today"]
    first = today.replace(day=1)
    start = first - datetime.timedelta(days=3)
    f = engine.filters_of(
        user("director"), p, {"start": start.isoformat(), "end": today.isoformat()}
    )
    rows = [r for r in periodic.achievement(f) if r["consultant_id"] is None]
    before = first - datetime.timedelta(days=1)
    assert [r["month_start"] for r in rows] == [before.replace(day=1), first]
    assert row_figures(rows[0], ["amount", "units", "collections"]) == achieved(
        p, before.replace(day=1), before
    )
    assert row_figures(rows[1], ["amount", "units", "collections"]) == achieved(p, first, today)
    last = Target.objects.filter(
        project=p, month=before.replace(day=1), consultant__isnull=True
    ).first()
    assert rows[0]["target_amount"] == (last.amount if last else None)


# --- 销售月报 ----------------------------------------------------------------------------------


def test_monthly_weeks_match_the_rows(office):
    today = office["today"]
    report = build("monthly", "director", date=today.isoformat())
    start, end = month_of(today)
    expected = expected_days(office["project"], start, end)
    weeks = table(report, "每周汇总")
    # rebuild the weeks (Monday to Sunday, cut at the month's ends) from the days
    want, current = [], None
    for day, figures in expected.items():
        if current is None or day.weekday() == 0:
            current = dict(figures)
            want.append(current)
        else:
            for k, v in figures.items():
                current[k] += v
    assert [row_figures(r, DAY_KEYS) for r in weeks.rows] == want
    assert row_figures(weeks.total, DAY_KEYS) == sum_rows(expected.values())
    titles = [t.title for t in report.tables]
    for title in ("转化漏斗（按置业顾问）", "转化漏斗（按认知途径）", "目标达成", "客户分析·职业"):
        assert title in titles


def test_monthly_analyses_count_distinct_visitors_and_buyers(office):
    today = office["today"]
    p = office["project"]
    start, end = month_of(today)
    report = build("monthly", "director", date=today.isoformat())
    occupations = {r["name"]: r for r in table(report, "客户分析·职业").rows}
    visitors = {
        v.customer
        for v in Visit.objects.filter(customer__project=p).select_related("customer")
        if start <= local_day(v.visited_at) <= end
    }
    want_visitors = Counter(c.get_occupation_display() or NO_CHANNEL for c in visitors)
    standing = [d for d in sales_deals(p, start, end) if d.status in ("subscribed", "contracted")]
    buyers = {b.customer for b in DealBuyer.objects.filter(deal__in=standing)}
    want_buyers = Counter(c.get_occupation_display() or NO_CHANNEL for c in buyers)
    assert {n: r["visitors"] for n, r in occupations.items() if r["visitors"]} == want_visitors
    assert {n: r["buyers"] for n, r in occupations.items() if r["buyers"]} == want_buyers
    assert want_buyers["教师"] >= 1 and want_buyers["医生"] >= 1
    total = table(report, "客户分析·职业").total
    assert (total["visitors"], total["buyers"]) == (len(visitors), len(buyers))
    assert occupations["教师"]["buyers_pct"] == pct(want_buyers["教师"], len(buyers))


ANALYSIS_TABLES = {
    "occupation": "客户分析·职业",
    "income_band": "客户分析·收入段",
    "education": "客户分析·文化程度",
    "residence_district": "客户分析·居住区域",
    "channel": "客户分析·认知途径",
    "motive": "客户分析·购房动机",
}


@pytest.mark.parametrize(
    "params",
    [
        {"period": "month"},
        {"period": "quarter"},
        {"period": "year"},
        {"period": "week"},
        {"start": "-700", "end": "+0"},  # any period: counted from the rows
    ],
)
@pytest.mark.parametrize("who", ["office", "consultant", "channel"])
def test_the_visitors_analysis_of_every_period_counts_the_raw_visits(office, params, who):
    """Month, quarter and year read the profile the database keeps, other periods the
    rows: either way each dimension counts the distinct customers who visited in the
    period (received by the consultant, of the channel), counted here from the raw
    visits."""
    from loupan.customers.models import Education

    p, today = office["project"], office["today"]
    channel = Channel.objects.filter(project=p).order_by("pk").first()
    params = dict(params)
    if params.get("end") == "+0":  # the last 700 days
        params["start"] = (today - datetime.timedelta(days=700)).isoformat()
        params["end"] = today.isoformat()
    if who == "consultant":
        params["consultant"] = str(office["consultant"].pk)
    if who == "channel":
        params["channel"] = str(channel.pk)
    report = build("monthly", "director", date=today.isoformat(), **params)
    f = report.filters
    customers = {
        v.customer
        for v in Visit.objects.filter(customer__project=p).select_related("customer__channel")
        if f.start <= local_day(v.visited_at) <= f.end
        and (who != "consultant" or v.consultant_id == office["consultant"].pk)
        and (who != "channel" or v.customer.channel_id == channel.pk)
    }
    assert customers or who != "office"
    education = dict(Education.choices)
    for field, title in ANALYSIS_TABLES.items():
        rows = table(report, title).rows
        if field == "channel":
            values = [c.channel.name if c.channel_id else "" for c in customers]
        elif field == "education":
            values = [str(education.get(c.education, c.education)) for c in customers]
        elif field == "occupation":  # the office's list labels it (core.codelists)
            values = [c.get_occupation_display() for c in customers]
        else:
            values = [getattr(c, field) for c in customers]
        want = Counter(v or NO_CHANNEL for v in values)
        assert {r["name"]: r["visitors"] for r in rows if r["visitors"]} == want, field
        assert table(report, title).total["visitors"] == len(customers)


def test_profile_is_the_buyer_analysis_over_any_customers(office):
    """The visitors' analysis is the buyers' one generalised: over the buyers of some
    deals it answers exactly what ``deals.reports.buyer_analysis`` answers."""
    deals = Deal.objects.filter(project=office["project"])
    buyers = Customer.objects.filter(
        pk__in=DealBuyer.objects.filter(
            deal__in=deals.filter(status__in=("subscribed", "contracted"))
        ).values("customer_id")
    )
    assert deal_reports.profile(buyers) == deal_reports.buyer_analysis(deals)


def test_visitors_are_the_distinct_customers_of_the_visits(office):
    from loupan.reports import figures

    p = office["project"]
    channel = Channel.objects.filter(project=p).order_by("pk").first()
    for params in ({}, {"consultant": str(office["consultant"].pk)}, {"channel": str(channel.pk)}):
        f = engine.filters_of(user("manager"), p, {"period": "year", **params})
        visited = set(figures.visits(f).values_list("customer_id", flat=True))
        assert set(figures.visitors(f).values_list("pk", flat=True)) == visited
        assert visited or params


def test_the_dimensions_in_one_query_are_the_dimensions_one_by_one(office):
    """``dimension_counts`` (one GROUPING SETS query on PostgreSQL) counts what one
    GROUP BY per dimension counts."""
    f = engine.filters_of(user("manager"), office["project"], {"period": "year"})
    visitors = periodic.visitors_of(f)
    with CaptureQueriesContext(connection) as ctx:
        counted = deal_reports.dimension_counts(visitors)
    one_by_one = deal_reports.counts_per_dimension(visitors)
    assert {k: dict(v) for k, v in counted.items()} == {k: dict(v) for k, v in one_by_one.items()}
    assert sum(n for _value, n in counted["occupation"]) == visitors.count() > 0
    if connection.vendor == "postgresql":
        assert len(ctx.captured_queries) == 1


@pytest.mark.parametrize("params", [{}, {"consultant": "me"}, {"channel": "first"}])
def test_the_traffic_sets_in_one_query_are_the_traffic_one_key_at_a_time(office, params):
    """``figures.traffic_by`` by day, channel, consultant and none comes from one
    ``GROUPING SETS`` query on PostgreSQL (``_traffic_sets``), read once for a report
    (``Filters.memo``): the same sums as one GROUP BY per key."""
    from loupan.reports import figures

    p = office["project"]
    if params.get("consultant"):
        params = {"consultant": str(office["consultant"].pk)}
    if params.get("channel"):
        params = {"channel": str(Channel.objects.filter(project=p).order_by("pk").first().pk)}
    f = engine.filters_of(user("manager"), p, {"period": "year", **params})
    with CaptureQueriesContext(connection) as ctx:
        sets = {key: figures.traffic_by(f, *key) for key in (("day",), ("channel",), ())}
        sets["consultant"] = figures.traffic_by(f, "consultant")
    one_by_one = {key: figures._traffic_grouped(f, *key) for key in (("day",), ("channel",), ())}
    one_by_one["consultant"] = figures._traffic_grouped(f, "consultant")
    assert sets == one_by_one
    assert sum(t["calls"] for t in sets[("day",)].values()) == sets[()][()]["calls"] > 0 or params
    if connection.vendor == "postgresql":
        assert len(ctx.captured_queries) == 1
    # another period reads its own sums, not those kept for this one
    month = f.with_period(f.start, f.start.replace(day=31))
    assert month.memo == {} and "traffic" in f.memo
    assert figures.traffic_by(month) == figures._traffic_grouped(month)


def test_the_funnel_reads_both_steps_in_one_pass(office):
    """``funnel_deals``: the subscriptions and contracts of the period in one query by
    consultant and channel together, summed by either the same as ``figures.subscribed``
    and ``figures.contracted`` count them one way at a time."""
    from django.db.models import Count, Sum

    from loupan.reports import figures

    f = engine.filters_of(user("manager"), office["project"], {"period": "year"})
    with CaptureQueriesContext(connection) as ctx:
        deals = periodic.funnel_deals(f)
    assert len(ctx.captured_queries) == 1
    for by, key in (("consultant", "consultant"), ("channel", "customer__channel")):
        for step, qs in (
            ("subscribed", figures.subscribed(f)),
            ("contracted", figures.contracted(f)),
        ):
            expected = {
                r[key]: (r["n"], r["s"])
                for r in qs.values(key).annotate(n=Count("pk"), s=Sum("total")).order_by()
            }
            got: dict = {}
            for (who, channel), r in deals.items():
                k = who if by == "consultant" else channel
                n, s = got.get(k, (0, ZERO))
                got[k] = (n + r[step], s + r[f"{step}_amount"])
            assert {k: v for k, v in got.items() if v[0]} == expected
            assert expected


def test_the_consultants_and_the_deal_flow_read_the_deals_in_one_pass(office):
    """The daily report's 置业顾问 and 成交与退房 tables take their subscriptions and
    contracts from one pass over the deals (``figures.sold_by_consultant``): the same
    as ``figures.subscribed`` and ``figures.contracted`` counted one at a time."""
    from django.db.models import Count, Sum

    from loupan.reports import daily, figures

    for params in ({"period": "year"}, {"period": "month"}):
        f = engine.filters_of(user("manager"), office["project"], params)
        flow = {r["kind"]: r for r in daily.deal_flow(f)}
        for kind, qs in (("认购", figures.subscribed(f)), ("签约", figures.contracted(f))):
            assert {k: flow[kind][k] for k in ("count", "area", "amount")} == figures.deal_sums(qs)
        people = {r["consultant"]: r for r in daily.by_consultant(f)}
        for step, qs in (
            ("subscribed", figures.subscribed(f)),
            ("contracted", figures.contracted(f)),
        ):
            expected = {
                name_of(user_of(r["consultant"])): (r["n"], r["s"])
                for r in qs.values("consultant").annotate(n=Count("pk"), s=Sum("total")).order_by()
            }
            got = {name: (r[step], r[f"{step}_amount"]) for name, r in people.items() if r[step]}
            assert got == expected
        assert flow["认购"]["count"] >= 1


def user_of(pk):
    from loupan.accounts.models import User

    return User.objects.get(pk=pk)


def test_monthly_of_a_consultant_is_their_own(office):
    consultant = office["consultant"]
    today = office["today"]
    start, end = month_of(today)
    report = build("monthly", "consultant", date=today.isoformat())
    expected = expected_days(office["project"], start, end, consultant)
    weeks = table(report, "每周汇总")
    assert row_figures(weeks.total, DAY_KEYS) == sum_rows(expected.values())
    buyers = table(report, "客户分析·职业").total["buyers"]
    standing = [
        d
        for d in sales_deals(office["project"], start, end, consultant)
        if d.status in ("subscribed", "contracted")
    ]
    assert (
        buyers == DealBuyer.objects.filter(deal__in=standing).values("customer").distinct().count()
    )


def test_reports_as_json_xlsx_and_charts(office):
    from loupan.reports import charts

    for code in ("weekly", "monthly", "funnel", "targets", "buyers"):
        report = build(code, "director")
        data = engine.as_json(report)
        assert data["code"] == code and data["tables"]
        content, count = engine.workbook(report)
        assert content[:2] == b"PK" and count > 0
        for chart in report.charts:
            assert charts.svg(chart).lstrip().startswith("<")
