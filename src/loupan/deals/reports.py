"""The deal lists the office keeps (seed 002 二.3–二.4) as rows for the page, the xlsx
export and the API: 业主登记一览表 with the buyer analysis, 客户换房、退房一览表 with the
cancellation-reason summary (销售退房情况表), and the xlsx of every deal list.

Personal numbers leave only through ``customers.selectors.contact`` (full for the
customer's own consultant, masked for everyone else); floor prices never appear here."""

from decimal import Decimal
from itertools import islice

from django.db import connections
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    F,
    Func,
    OuterRef,
    Prefetch,
    Sum,
    Value,
    Window,
)
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.encoding import force_str
from django.utils.translation import gettext as _

from loupan.accounts import access
from loupan.core import codelists, xlsx
from loupan.core.errors import DomainError, ErrorCode
from loupan.core.money import money
from loupan.core.querysets import per_row
from loupan.customers import exports as customer_exports
from loupan.customers import selectors as customer_selectors
from loupan.customers.models import Customer, Education

from .models import (
    Cancellation,
    ChangeKind,
    Deal,
    DealBuyer,
    DealChange,
    DealStatus,
    DisputeStatus,
)

OWNER_STATUSES = (DealStatus.SUBSCRIBED, DealStatus.CONTRACTED)
BUYERS = Prefetch(
    "buyers", queryset=DealBuyer.objects.select_related("customer__channel").order_by("sort_order")
)


C = xlsx.col  # a column, read as a table


# --- the deal lists as xlsx ---------------------------------------------------------------


def buyer_names(deal) -> str:
    buyers = list(deal.buyers.all())
    if not buyers:
        return deal.customer.name
    if len(buyers) == 1:
        return buyers[0].customer.name
    return "、".join(f"{b.customer.name}（{b.share.normalize():f}%）" for b in buyers)


DEAL_COLUMNS = [
    C("reservation_number", "保留单号", width=18),
    C("number", "认购书编号", width=18),
    C("contract_number", "合同编号", width=18),
    C("status", "状态", width=10),
    C("unit", "房间", width=14),
    C("buyers", "客户 / 买受人", width=24),
    C("consultant", "置业顾问", width=10),
    C("reserved_at", "预留时间", "datetime", width=16),
    C("subscribed_at", "认购时间", "datetime", width=16),
    C("area", "计价面积（㎡）", "money"),
    C("list_total", "表价总额（元）", "money", width=14),
    C("discount_amount", "优惠金额（元）", "money", width=14),
    C("total", "成交总价（元）", "money", width=14),
    C("payment_method", "付款方式", width=10),
    C("deposit", "定金（元）", "money"),
    C("signing_deadline", "签约期限", "text"),
    C("signed_on", "签约日期", "text"),
    C("filing", "网签备案", width=16),
    C("clauses", "特殊条款", width=30),
]


def deal_row(deal) -> list:
    clauses = [c for c in deal.clauses.all() if c.approved] if deal.contract_number else []
    return [
        deal.reservation_number,
        deal.number,
        deal.contract_number,
        deal.get_status_display(),
        deal.unit.number,
        buyer_names(deal),
        deal.consultant.real_name or deal.consultant.username,
        deal.reserved_at,
        deal.subscribed_at,
        deal.area,
        deal.list_total,
        deal.discount_amount if deal.list_total is not None else None,
        deal.total,
        deal.get_payment_method_display(),
        deal.deposit,
        f"{deal.signing_deadline:%Y-%m-%d}" if deal.signing_deadline else "",
        f"{deal.signed_on:%Y-%m-%d}" if deal.signed_on else "",
        " ".join(filter(None, [deal.get_filing_status_display(), deal.filing_number]))
        if deal.contract_number
        else "",
        "；".join(c.text for c in clauses),
    ]


def may_export(user, project) -> bool:
    """The office's lists leave as files only for those who see every deal."""
    return access.has_perm(user, "deal.view", project)


def export(
    *, actor, project, report: str, columns, rows, filters: dict, approved: bool = False
) -> bytes:
    """A list as xlsx (write-only, any size), audited as an export with its filters. The
    lists name the buyers: where the project wants the manager's consent for customer
    data, only with it (``customers.exports.require_consent``; ``approved``)."""
    if not may_export(actor, project):
        raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有导出交易名单的权限"))
    customer_exports.require_consent(project, approved=approved)
    content, _count = xlsx.export_audited(
        actor=actor,
        project=project,
        what="deals.deal",
        sheet=report,
        columns=columns,
        rows=rows,
        filters={"report": report, **filters},
    )
    return content


def deals_export(*, actor, project, report: str, queryset, filters: dict) -> bytes:
    qs = (
        queryset.prefetch_related(None)
        .select_related("unit", "customer", "consultant")
        .prefetch_related(BUYERS, "clauses")
    )
    return export(
        actor=actor,
        project=project,
        report=report,
        columns=DEAL_COLUMNS,
        rows=(deal_row(d) for d in qs.iterator(chunk_size=500)),
        filters=filters,
    )


# --- 业主登记一览表 ------------------------------------------------------------------------


def owners(deals):
    """Every subscribed or contracted deal with its buyers (seed 002 二.3(1))."""
    return (
        deals.filter(status__in=OWNER_STATUSES)
        .select_related("unit__building", "customer", "consultant")
        .prefetch_related(BUYERS)
        .order_by("unit__building__name", "unit__number", "pk")
    )


def owner_labels() -> dict[str, dict]:
    """The labels the owner lines show (the deal's status and payment method, the buyer's
    education) as plain text in the active language, for ``owner_lines``: build them
    once per list and pass them in (``get_FOO_display`` rebuilds its dict of lazy labels
    on every call, which a year's 成交客户档案 calls tens of thousands of times)."""
    labels = {
        name: {key: force_str(label) for key, label in model._meta.get_field(name).flatchoices}
        for model, name in ((Deal, "status"), (Deal, "payment_method"), (Customer, "education"))
    }
    labels["occupation"] = OccupationLabels()
    return labels


class OccupationLabels:
    """The buyers' 职业 as the office's list of each project labels them
    (``core.codelists``, the list read once per project; a retired entry marked, the
    words of 其他 and older free text as they are)."""

    def __init__(self):
        self._listed: dict = {}
        self._labels: dict = {}  # (project, value): its label, each looked up once

    def __call__(self, project_id, value) -> str:
        if not value:
            return ""
        try:
            return self._labels[project_id, value]
        except KeyError:
            pass
        if project_id not in self._listed:
            self._listed[project_id] = codelists.entries("occupation", project_id)
        label = codelists.label_of("occupation", None, value, listed=self._listed[project_id])
        self._labels[project_id, value] = label
        return label


def _shown(labels: dict, value):
    """``value``'s label as ``get_FOO_display`` gives it (the value itself when it has
    none)."""
    return force_str(labels.get(value, value), strings_only=True)


def owner_lines(user, deal, labels: dict | None = None) -> list[dict]:
    """One line per buyer, the deal's facts on the first (contacts as the viewer may see
    them). ``labels``: ``owner_labels()``, built once by a caller that lists many deals;
    ``owner_rows`` gives the same lines for a long list."""
    buyers = list(deal.buyers.all())
    if not buyers:
        return []
    unit, consultant = deal.unit, deal.consultant
    return _lines(
        user,
        deal,
        unit=unit.number,
        building=unit.building.name if unit.building_id else "",
        consultant=consultant.real_name or consultant.username,
        buyers=[
            (b.customer, b.share, b.customer.channel.name if b.customer.channel_id else "")
            for b in buyers
        ],
        labels=labels or owner_labels(),
    )


def _lines(user, deal, *, unit, building, consultant, buyers, labels, numbers=None) -> list[dict]:
    """The lines of ``owner_lines``: ``buyers`` as (customer, share, channel name) in
    their order, the deal's unit, building and consultant as text; ``numbers``:
    ``customers.selectors.shown_numbers(user)``, built once by a caller of many deals."""
    span = len(buyers)
    payment_method = _shown(labels["payment_method"], deal.payment_method)
    status = _shown(labels["status"], deal.status)
    education = labels["education"]
    numbers = numbers or customer_selectors.shown_numbers(user)
    lines = []
    for i, (c, share, channel) in enumerate(buyers):
        phone, id_number = numbers(c.owner_id, c.phone, c.id_number)
        lines.append(
            {
                "deal": deal,
                "deal_id": deal.pk,
                "first": i == 0,
                "span": span,
                "unit": unit,
                "building": building,
                "area": deal.area,
                "total": deal.total,
                "payment_method": payment_method,
                "status": status,
                "subscribed_at": deal.subscribed_at,
                "number": deal.number,
                "contract_number": deal.contract_number,
                "name": c.name,
                "share": share,
                "phone": phone,
                "id_number": id_number or "",
                "occupation": labels["occupation"](deal.project_id, c.occupation),
                "education": education.get(c.education, c.education),
                "income_band": c.income_band,
                "residence_district": c.residence_district,
                "channel": channel,
                "motive": c.motive,
                "consultant": consultant,
            }
        )
    return lines


def _attnames(model, names) -> list[str]:
    """``names`` (attnames) in the model's field order, as ``Model.from_db`` takes them."""
    return [f.attname for f in model._meta.concrete_fields if f.attname in names]


# What the lines read, and no more, for the long lists (``owner_rows``): a deal carries
# some forty columns, its unit, customer and consultant as many, and a model instance a
# row (with the queryset machinery of a prefetch per deal) costs more than the line.
OWNER_DEAL = _attnames(
    Deal,
    {
        "id",
        "status",
        "number",
        "subscribed_at",
        "area",
        "total",
        "payment_method",
        "contract_number",
        "project_id",
    },
)
# A buyer as the lines read it: the deal, the share, the channel's name and the
# customer's columns the lines show (and the owner, who sees the numbers unmasked).
OWNER_BUYER = (
    "deal_id",
    "share",
    "customer__channel__name",
    "customer__owner_id",
    "customer__name",
    "customer__phone",
    "customer__id_number",
    "customer__occupation",
    "customer__education",
    "customer__income_band",
    "customer__residence_district",
    "customer__motive",
)
OWNER_DEAL_FACTS = (
    "unit__number",
    "unit__building_id",
    "unit__building__name",
    "consultant__real_name",
    "consultant__username",
)


def owner_rows(user, deals, *, chunk_size: int | None = None, links: bool = True):
    """Every line of ``owner_lines`` for ``owners(deals)``, in the same order, for the
    long lists (a year's 成交客户档案, the xlsx): the deals, then their buyers, read as
    values with only the columns the lines show (two queries; with ``chunk_size``, the
    buyers a chunk of that many deals at a time, for a file of any size), each buyer as
    a row of ``OWNER_BUYER``, the labels built once, the numbers masked as
    ``customers.selectors.contact`` masks them (``shown_numbers``). With ``links``
    each line's ``deal`` is the deal as a model instance with those fields (as
    ``.only()`` loads it: ``_deal_of``), for a page that links to it; without, the
    lines have its ``deal_id`` alone (the xlsx, the API and the reports, which link
    nowhere, build no instance)."""
    labels = owner_labels()
    numbers = customer_selectors.shown_numbers(user)
    owned = owners(deals).select_related(None).prefetch_related(None)
    rows = owned.values_list(*OWNER_DEAL, *OWNER_DEAL_FACTS)
    db = rows.db if links else None
    if chunk_size is None:
        buyers = DealBuyer.objects.filter(deal__in=owned.values("pk"))
        yield from _chunk_lines(list(rows), buyers.using(rows.db), labels, db, numbers)
        return
    chunk: list = []
    for row in rows.iterator(chunk_size=chunk_size):
        chunk.append(row)
        if len(chunk) >= chunk_size:
            buyers = DealBuyer.objects.using(rows.db).filter(deal_id__in=[r[0] for r in chunk])
            yield from _chunk_lines(chunk, buyers, labels, db, numbers)
            chunk = []
    if chunk:
        buyers = DealBuyer.objects.using(rows.db).filter(deal_id__in=[r[0] for r in chunk])
        yield from _chunk_lines(chunk, buyers, labels, db, numbers)


def first_owner_rows(user, deals, n: int, *, links: bool = True) -> list[dict]:
    """The first ``n`` lines of ``owner_rows`` (a page of a long list): those of the
    first ``n`` deals with a buyer, each giving at least one line."""
    firsts = list(
        owners(deals)
        .select_related(None)
        .prefetch_related(None)
        .filter(Exists(DealBuyer.objects.filter(deal=OuterRef("pk"))))
        .values_list("pk", flat=True)[:n]
    )
    return list(islice(owner_rows(user, deals.filter(pk__in=firsts), links=links), n))


def owner_rows_window(user, deals, offset: int, n: int, *, links: bool = True) -> list[dict]:
    """The ``n`` lines of ``owner_rows`` from line ``offset`` (a later page of a long
    list): the database counts each deal's buyers and sums them in the list's order
    (a window), so that only the deals whose lines fall on the page are read."""
    if offset == 0:
        return first_owner_rows(user, deals, n, links=links)
    buyers = per_row(DealBuyer.objects.filter(deal=OuterRef("pk")), "deal", Count("pk"))
    owned = owners(deals).select_related(None).prefetch_related(None)
    counted = owned.annotate(lines=buyers).filter(lines__gt=0)
    upto = Window(Sum("lines"), order_by=owned.query.order_by)
    placed = list(
        counted.annotate(upto=upto)
        .filter(upto__gt=offset, upto__lt=offset + n + F("lines"))
        .values_list("pk", "upto", "lines")
    )
    if not placed:
        return []
    _pk, upto, lines = placed[0]
    skip = offset - (upto - lines)  # the first deal's lines on the pages before
    picked = deals.filter(pk__in=[pk for pk, _upto, _lines in placed])
    return list(islice(owner_rows(user, picked, links=links), skip, skip + n))


def owner_sums(deals) -> dict:
    """What ``owner_rows`` lists for ``deals``, counted by the database: ``lines`` (one
    per buyer), ``deals`` (those with a buyer) and their ``total``."""
    owned = owners(deals).select_related(None).prefetch_related(None).order_by()
    lines = DealBuyer.objects.filter(deal__in=owned.values("pk")).count()
    sums = owned.filter(Exists(DealBuyer.objects.filter(deal=OuterRef("pk")))).aggregate(
        deals=Count("pk"), total=Sum("total")
    )
    return {"lines": lines, "deals": sums["deals"], "total": money(sums["total"] or 0)}


def _chunk_lines(chunk: list, buyers, labels: dict, db: str | None, numbers):
    """The lines of ``owner_rows``' deal rows ``chunk`` with their ``buyers`` (one
    query): ``_lines``' lines, built here from the rows as they come (a year's
    archive is twenty thousand lines: each deal's facts once, copied to its buyers'
    lines; the test keeps the two the same, key for key). ``db``: the database of the
    deals as model instances (``_deal_of``) on the lines, None for none."""
    n = len(OWNER_DEAL)
    at = {name: i for i, name in enumerate(OWNER_DEAL)}
    pk_at, project_at = at["id"], at["project_id"]
    status_at, method_at = at["status"], at["payment_method"]
    area_at, total_at, subscribed_at = at["area"], at["total"], at["subscribed_at"]
    number_at, contract_at = at["number"], at["contract_number"]
    of: dict[int, list] = {}
    for buyer in buyers.order_by("deal_id", "sort_order", "pk").values_list(*OWNER_BUYER):
        of.setdefault(buyer[0], []).append(buyer)
    status_of, method_of = labels["status"], labels["payment_method"]
    education_of, occupation_of = labels["education"], labels["occupation"]
    for row in chunk:
        mine = of.get(row[0])
        if not mine:
            continue
        unit, building_id, building, real_name, username = row[n:]
        project_id = row[project_at]
        head = {
            "deal_id": row[pk_at],
            "first": False,
            "span": len(mine),
            "unit": unit,
            "building": building if building_id else "",
            "area": row[area_at],
            "total": row[total_at],
            "payment_method": _shown(method_of, row[method_at]),
            "status": _shown(status_of, row[status_at]),
            "subscribed_at": row[subscribed_at],
            "number": row[number_at],
            "contract_number": row[contract_at],
        }
        if db is not None:
            head = {"deal": _deal_of(db, row[:n]), **head}
        consultant = real_name or username
        first = True
        for (
            _deal,
            share,
            channel,
            owner_id,
            name,
            phone,
            id_number,
            occupation,
            education,
            income_band,
            district,
            motive,
        ) in mine:
            phone, id_number = numbers(owner_id, phone, id_number)
            yield {
                **head,
                "first": first,
                "name": name,
                "share": share,
                "phone": phone,
                "id_number": id_number or "",
                "occupation": occupation_of(project_id, occupation),
                "education": education_of.get(education, education),
                "income_band": income_band,
                "residence_district": district,
                "channel": channel or "",
                "motive": motive,
                "consultant": consultant,
            }
            first = False


# The 成交客户档案's columns (``OWNER_COLUMNS``) as ``owner_cells`` reads them, in one
# query of the buyers with their deals, the deal's facts repeated on each buyer's line.
OWNER_CELLS = (
    "deal__unit__building_id",
    "deal__unit__building__name",
    "deal__unit__number",
    "deal__status",
    "deal__number",
    "deal__contract_number",
    "deal__subscribed_at",
    "deal__area",
    "deal__total",
    "deal__payment_method",
    "customer__name",
    "share",
    "customer__owner_id",
    "customer__phone",
    "customer__id_number",
    "deal__project_id",
    "customer__occupation",
    "customer__education",
    "customer__income_band",
    "customer__residence_district",
    "customer__channel__name",
    "customer__motive",
    "deal__consultant__real_name",
    "deal__consultant__username",
)


def owner_cells(user, deals):
    """The lines of ``owner_rows(user, deals)`` as a workbook writes them, for a long
    archive's xlsx: for each line, in the same order, the values of ``OWNER_COLUMNS``
    as a tuple in the columns' order, the subscription time in local time without its
    zone (``core.xlsx.excel_value``). One query of the buyers joined to their deals,
    read as values: no line dict, and on PostgreSQL the time converted by the database
    (its ``AT TIME ZONE``), not by a Python loader per row. The test keeps the cells
    equal to the lines', column by column."""
    labels = owner_labels()
    numbers = customer_selectors.shown_numbers(user)
    owned = owners(deals).select_related(None).prefetch_related(None)
    buyers = DealBuyer.objects.using(owned.db).filter(deal__in=owned.values("pk"))
    names = list(OWNER_CELLS)
    at = names.index("deal__subscribed_at")
    local = connections[owned.db].vendor == "postgresql"
    if local:  # the local time, naive, from the database (psycopg's own loader)
        zone = timezone.get_current_timezone_name()
        buyers = buyers.annotate(
            local_at=Func(
                F("deal__subscribed_at"),
                Value(zone),
                arg_joiner=" AT TIME ZONE ",
                template="(%(expressions)s)",
                output_field=DateTimeField(),
            )
        )
        names[at] = "local_at"
    rows = buyers.order_by(
        "deal__unit__building__name", "deal__unit__number", "deal_id", "sort_order", "pk"
    ).values_list(*names)
    status_of, method_of = labels["status"], labels["payment_method"]
    education_of, occupation_of = labels["education"], labels["occupation"]
    excel_value = xlsx.excel_value
    for (
        building_id,
        building,
        unit,
        status,
        number,
        contract_number,
        subscribed_at,
        area,
        total,
        method,
        name,
        share,
        owner_id,
        phone,
        id_number,
        project_id,
        occupation,
        education,
        income_band,
        district,
        channel,
        motive,
        real_name,
        username,
    ) in rows:
        phone, id_number = numbers(owner_id, phone, id_number)
        yield (
            building if building_id else "",
            unit,
            _shown(status_of, status),
            number,
            contract_number,
            subscribed_at if local else excel_value(subscribed_at),
            area,
            total,
            _shown(method_of, method),
            name,
            share,
            phone,
            id_number or "",
            occupation_of(project_id, occupation),
            education_of.get(education, education),
            income_band,
            district,
            channel or "",
            motive,
            real_name or username,
        )


def _deal_of(db: str, values) -> Deal:
    """The deal of ``OWNER_DEAL``'s ``values`` as ``Deal.from_db`` makes it (those
    fields loaded, the others deferred), without ``Model.__init__``, which walks every
    field of the forty and costs more than the line (a year's archive makes twenty
    thousand): nothing listens to a deal's ``pre_init``/``post_init``."""
    deal = Deal.__new__(Deal)
    deal.__dict__.update(zip(OWNER_DEAL, values, strict=True))
    deal._state = ModelState()
    deal._state.adding, deal._state.db = False, db
    return deal


OWNER_COLUMNS = [
    C("building", "楼栋", width=8),
    C("unit", "房间", width=14),
    C("status", "状态", width=8),
    C("number", "认购书编号", width=18),
    C("contract_number", "合同编号", width=18),
    C("subscribed_at", "认购时间", "datetime", width=16),
    C("area", "计价面积（㎡）", "money"),
    C("total", "成交总价（元）", "money", width=14),
    C("payment_method", "付款方式", width=10),
    C("name", "买受人", width=10),
    C("share", "产权份额（%）", "money"),
    C("phone", "手机号", "code", width=14),
    C("id_number", "身份证号", "code", width=20),
    C("occupation", "职业"),
    C("education", "文化程度", width=10),
    C("income_band", "收入段"),
    C("residence_district", "居住区域"),
    C("channel", "认知途径"),
    C("motive", "购房动机", width=16),
    C("consultant", "置业顾问", width=10),
]

# The buyer analysis of seed 002 二.3(2): 职业、经济收入水平、文化层次、居住区域、了解产品
# 渠道、消费心理.
ANALYSIS = [
    ("occupation", "职业"),
    ("income_band", "收入段"),
    ("education", "文化程度"),
    ("residence_district", "居住区域"),
    ("channel__name", "认知途径"),
    ("motive", "购房动机"),
]


def buyer_analysis(deals, project=None) -> list[dict]:
    """Counts by category of the distinct buyers of the owners' deals (``profile``);
    the occupations labelled by ``project``'s list."""
    buyers = Customer.objects.filter(
        Exists(
            DealBuyer.objects.filter(
                customer=OuterRef("pk"), deal__in=deals.filter(status__in=OWNER_STATUSES)
            )
        )
    )
    return profile(buyers, project)


def profile(customers, project=None) -> list[dict]:
    """Counts by category of ``customers`` (distinct customers: buyers, visitors) along
    the dimensions of seed 002 二.3(2) (``dimension_counts``); an empty answer counts as
    未填写."""
    return profile_of(dimension_counts(customers), project)


def profile_of(counted: dict[str, list[tuple]], project=None) -> list[dict]:
    """``profile`` of counts as ``dimension_counts`` gives them (or the kept visitors'
    profile of a period, ``customers.visitors.counts``). The occupations are codes of
    the office's list (``core.codelists``): counted under ``project``'s labels (two codes
    of one label, or a code and the same words typed as 其他 or before the list, count
    as one)."""
    education = dict(Education.choices)
    listed = codelists.entries("occupation", project) if project is not None else None
    result = []
    for field, label in ANALYSIS:
        counts: dict[str, int] = {}
        for value, n in counted.get(field, ()):
            key = value or ""
            name = str(education.get(key, key)) if field == "education" else key
            if field == "occupation" and listed is not None:
                name = codelists.label_of("occupation", None, key, listed=listed)
            name = name or _("未填写")
            counts[name] = counts.get(name, 0) + n
        total = sum(counts.values())
        rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        result.append(
            {
                "field": field.split("__")[0],
                "label": label,
                "total": total,
                "rows": [
                    {"name": k, "count": v, "pct": round(v * 100 / total, 1) if total else 0}
                    for k, v in rows
                ],
            }
        )
    return result


def dimension_counts(customers) -> dict[str, list[tuple]]:
    """``{field: [(value, count), …]}`` for each dimension of ``ANALYSIS`` over the rows
    of ``customers``: on PostgreSQL one query (``GROUPING SETS``, ``customers`` read
    once: the visitors of a year are a semi-join that costs a second each time it is
    read), elsewhere one GROUP BY per dimension (``counts_per_dimension``); the same
    counts either way."""
    connection = connections[customers.db]
    if connection.vendor != "postgresql":
        return counts_per_dimension(customers)
    fields = [field for field, _label in ANALYSIS]
    sql, params = (
        customers.values_list(*fields).order_by().query.get_compiler(connection=connection).as_sql()
    )
    names = [f"d{i}" for i in range(len(fields))]
    listed = ", ".join(names)
    sets = ", ".join(f"({name})" for name in names)
    query = (
        f"SELECT GROUPING({listed}), {listed}, COUNT(*) FROM ({sql}) AS dims ({listed}) "
        f"GROUP BY GROUPING SETS ({sets})"
    )
    # GROUPING(…) has a bit set for each column the row is not grouped by, the first
    # column the highest bit: the set of field i leaves every bit but its own set
    every = (1 << len(fields)) - 1
    field_of = {every ^ (1 << (len(fields) - 1 - i)): i for i in range(len(fields))}
    counted: dict[str, list[tuple]] = {field: [] for field in fields}
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for row in cursor.fetchall():
            i = field_of[row[0]]
            counted[fields[i]].append((row[1 + i], row[-1]))
    return counted


def counts_per_dimension(customers) -> dict[str, list[tuple]]:
    """``dimension_counts`` with one GROUP BY per dimension (any database)."""
    return {
        field: list(customers.values_list(field).annotate(n=Count("pk")).order_by())
        for field, _label in ANALYSIS
    }


def owners_export(*, actor, project, deals, filters) -> bytes:
    def rows():
        for line in owner_rows(actor, deals, chunk_size=500, links=False):
            yield [line[c.field] for c in OWNER_COLUMNS]

    return export(
        actor=actor,
        project=project,
        report="业主登记一览表",
        columns=OWNER_COLUMNS,
        rows=rows(),
        filters=filters,
    )


# --- 客户换房、退房一览表 and the cancellation summary ---------------------------------------


def _name(user) -> str:
    return user.real_name or user.username


def change_rows(changes_qs) -> list[dict]:
    """One line per exchange, cancellation (or rename) with what became what."""
    rows = []
    reasons: dict = {}  # the office's 退房原因 per project, read once
    for ch in changes_qs:
        b, a = ch.before or {}, ch.after or {}
        project = ch.deal.project_id
        if project not in reasons:
            reasons[project] = codelists.entries("cancel_reason", project)
        cancellation = (
            getattr(ch.deal, "cancellation", None) if ch.kind == ChangeKind.CANCEL else None
        )
        rows.append(
            {
                "change": ch,
                "at": ch.at,
                "kind": ch.get_kind_display(),
                "deal": ch.deal,
                "number": b.get("number") or ch.deal.number,
                "buyers": buyer_names(ch.deal),
                "old_unit": b.get("unit_number", ""),
                "old_area": b.get("area", ""),
                "old_total": b.get("total", ""),
                "new_deal": ch.new_deal,
                "new_unit": a.get("unit_number", "") if ch.kind == ChangeKind.EXCHANGE else "",
                "new_area": a.get("area", "") if ch.kind == ChangeKind.EXCHANGE else "",
                "new_total": a.get("total", "") if ch.kind == ChangeKind.EXCHANGE else "",
                "difference": a.get("difference", ""),
                "cancel_reason": codelists.label_of(
                    "cancel_reason", project, cancellation.reason, listed=reasons[project]
                )
                if cancellation
                else "",
                "reason": ch.request.reason,
                "refund": cancellation.refund if cancellation else None,
                "forfeited": cancellation.forfeited if cancellation else None,
                "refund_paid": bool(cancellation and cancellation.refund_paid_at),
                "dispute": cancellation.get_dispute_display()
                if cancellation and cancellation.dispute != DisputeStatus.NONE
                else "",
                "dispute_note": cancellation.dispute_note if cancellation else "",
                "buyers_before": "、".join(x["name"] for x in b.get("buyers", [])),
                "buyers_after": "、".join(x["name"] for x in a.get("buyers", [])),
                "requested_by": _name(ch.request.requested_by),
                "approved_by": _name(ch.request.decided_by),
            }
        )
    return rows


def changes_of(user, project, *, kind="", start=None, end=None):
    qs = DealChange.objects.restrict(user, "view").filter(project=project)
    qs = qs.filter(kind=kind) if kind else qs.exclude(kind=ChangeKind.RENAME)
    if start:
        qs = qs.filter(at__date__gte=start)
    if end:
        qs = qs.filter(at__date__lte=end)
    return qs.select_related(
        "deal__customer",
        "deal__cancellation",
        "new_deal",
        "request__requested_by",
        "request__decided_by",
    ).prefetch_related(Prefetch("deal__buyers", queryset=BUYERS.queryset))


CHANGE_COLUMNS = [
    C("at", "办理时间", "datetime", width=16),
    C("kind", "类型", width=6),
    C("number", "原认购书", width=18),
    C("buyers", "买受人", width=20),
    C("old_unit", "原房间", width=12),
    C("old_area", "原面积（㎡）", width=10),
    C("old_total", "原总价（元）", width=14),
    C("new_unit", "新房间", width=12),
    C("new_area", "新面积（㎡）", width=10),
    C("new_total", "新总价（元）", width=14),
    C("difference", "应补(+)/应退(-)差价（元）", width=16),
    C("buyers_before", "原买受人", width=16),
    C("buyers_after", "新买受人", width=16),
    C("cancel_reason", "退房原因", width=12),
    C("reason", "原因说明", width=24),
    C("forfeited", "扣除定金（元）", "money", width=12),
    C("refund", "应退金额（元）", "money", width=12),
    C("dispute", "争议", width=8),
    C("dispute_note", "争议说明", width=20),
    C("requested_by", "申请人", width=8),
    C("approved_by", "批准人", width=8),
]


MONEY_KEYS = ("value", "forfeited", "refund")


def cancel_summary(user, project, *, start=None, end=None) -> dict:
    """销售退房情况表 for a period: per reason the cancellations, their contract value,
    what was kept and refunded; disputes by status; exchanges in the same period."""
    deals = Deal.objects.restrict(user, "view").filter(project=project)
    qs = Cancellation.objects.filter(deal__in=deals)
    if start:
        qs = qs.filter(cancelled_at__date__gte=start)
    if end:
        qs = qs.filter(cancelled_at__date__lte=end)
    listed = codelists.entries("cancel_reason", project)  # the office's labels, retired too
    rows = [
        {
            "reason": r["reason"],
            "label": codelists.label_of("cancel_reason", project, r["reason"], listed=listed),
            "count": r["n"],
            "value": money(r["value"] or 0),
            "forfeited": money(r["forfeited"] or 0),
            "refund": money(r["refund"] or 0),
        }
        for r in qs.values("reason")
        .annotate(
            n=Count("pk"),
            value=Sum("deal__total"),
            forfeited=Sum("forfeited"),
            refund=Sum("refund"),
        )
        .order_by("-n", "reason")
    ]
    total = sum(r["count"] for r in rows)
    for r in rows:
        r["pct"] = round(r["count"] * 100 / total, 1) if total else 0
    disputes = dict(DisputeStatus.choices)
    exchanges = DealChange.objects.filter(deal__in=deals, kind=ChangeKind.EXCHANGE)
    if start:
        exchanges = exchanges.filter(at__date__gte=start)
    if end:
        exchanges = exchanges.filter(at__date__lte=end)
    sums = {k: str(sum((r[k] for r in rows), Decimal("0.00"))) for k in MONEY_KEYS}
    for r in rows:  # money as strings with two decimals, for the page and the API alike
        r.update({k: str(r[k]) for k in MONEY_KEYS})
    return {
        "rows": rows,
        "count": total,
        **sums,
        "disputes": [
            {"status": str(disputes[d["dispute"]]), "count": d["n"]}
            for d in qs.exclude(dispute=DisputeStatus.NONE)
            .values("dispute")
            .annotate(n=Count("pk"))
            .order_by("dispute")
        ],
        "exchanges": exchanges.count(),
    }
