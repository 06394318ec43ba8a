"""Customers in and out of Excel (issue Customers): the import of the customers a sales
office already keeps in Excel, and the 意向客户登记表 (seed 002 二.2) with its xlsx export.

Import, with the units import's rule (core.xlsx, core.import_views): preview first, then
all rows or none.

* ``read_customers`` reads a file and returns every problem as (row as Excel shows it,
  column header, Chinese reason) with the unsaved customers; it writes nothing. Each row
  goes through ``services.customer_build``, the registration's own rules (required name,
  phone and wanted layout; phone normalized with the reason from core.identity; the ID
  number's check digit and the consent it needs; the owner a consultant of the project;
  the registration time not in the future), plus what only a file has: the consultant
  by 工号 or username, the channel by name, a number twice in the file, and a number
  that a live customer of the project already has (撞单, naming the owner only).
* ``customers_import`` needs ``customer.assign`` (supervisors, managers: an import brings
  in registration dates from the past, which a consultant's registration never can). It
  re-reads the file in one transaction, creates every customer or none, one audit entry
  per customer and one for the file. The row's consultant (default: the importer, when
  the importer is a consultant of the project) owns the customer; the ownership runs
  ``LOUPAN_OWNERSHIP_DAYS`` from the import, as after an assignment, so that a historic
  registration date does not send the customer straight to the public pool.
* ``customers_template``: the header, one example row and the explanation sheet with the
  project's channels and consultants.

Register: ``intent_register`` lists what the viewer may see (a consultant their own
customers, a supervisor or manager the project or one consultant's), ``register_rows``
gives each row with the phone masked by ``selectors.contact`` (full only for the owner),
and ``register_export`` writes the same rows to xlsx (needs ``customer.export``; audited
as an export).
"""

from __future__ import annotations

import datetime
from collections import Counter
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loupan.accounts import access
from loupan.accounts.models import User
from loupan.audit.services import audit_create
from loupan.core import xlsx
from loupan.core.errors import DomainError
from loupan.core.identity import check_id_number, normalize_phone
from loupan.core.xlsx import EXAMPLE_NOTE, Column, RowProblems
from loupan.inventory.models import Layout, Project

from . import selectors, services
from .errors import CustomerError
from .filters import CustomerFilterSet
from .models import (
    Channel,
    Customer,
    CustomerPolicy,
    Education,
    FollowUp,
    Gender,
    Grade,
    Purpose,
    Stage,
)
from .reception import eligible_users

DATA_SHEET = "客户"
REGISTER_SHEET = "意向客户登记表"

COLUMNS = (
    Column(
        "name",
        "姓名/称呼",
        "text",
        True,
        help="客户姓名或称呼，如 张三、李先生",
        example="张三",
        aliases=("姓名", "称呼", "姓名或称呼", "客户姓名", "客户"),
    ),
    Column(
        "phone",
        "手机号",
        "code",
        True,
        help="大陆手机为以 1 开头的 11 位数字；固定电话带区号；境外号码带 + 国家码",
        example="13812345678",
        width=14,
        aliases=("手机", "手机号码", "电话", "联系电话", "电话号码"),
    ),
    Column(
        "wanted_layout",
        "意向户型",
        "text",
        True,
        help="本项目户型名称（如 B1）；其他写法按“其他”户型原样记录",
        example="B1",
        aliases=("户型", "需求户型"),
    ),
    Column(
        "phone2",
        "第二电话",
        "code",
        help="可空",
        width=14,
        aliases=("备用电话", "其他电话", "电话2"),
    ),
    Column(
        "gender",
        "性别",
        "choice",
        choices=Gender,
        help="可空；填写身份证号时空白按身份证号",
        example="男",
        width=6,
    ),
    Column(
        "id_number",
        "身份证号",
        "code",
        help="18 位居民身份证号，校验位须正确；填写时“个人信息同意”须为 是",
        width=20,
        aliases=("身份证", "身份证号码", "证件号码"),
    ),
    Column(
        "consent",
        "个人信息同意",
        "bool",
        help="客户已同意个人信息处理：是 或 否；填写身份证号时必须为 是",
        width=8,
        aliases=("已取得同意", "个人信息处理同意"),
    ),
    Column(
        "channel",
        "认知途径",
        "text",
        help="本项目已设置的认知途径名称（见“填写说明”），可空",
        aliases=("渠道", "来源渠道", "获知途径"),
    ),
    Column(
        "grade",
        "等级",
        "choice",
        choices=Grade,
        help="A、B、C 或 D；空白为 C",
        example="B",
        width=6,
        aliases=("客户等级",),
    ),
    Column(
        "stage",
        "阶段",
        "choice",
        choices=Stage,
        exclude=(Stage.DEAL,),
        help="潜在 或 意向；空白为 潜在（成交由交易产生，不能导入）",
        example="意向",
        width=6,
        aliases=("客户阶段",),
    ),
    Column(
        "owner",
        "置业顾问（工号或用户名）",
        "text",
        help="归属顾问的工号或用户名，须为本项目的置业顾问；空白为导入人",
        width=16,
        aliases=("置业顾问", "归属顾问", "顾问"),
    ),
    Column(
        "registered_at",
        "登记时间",
        "datetime",
        help="如 2026-03-01 或 2026-03-01 14:30，不能晚于现在；空白为导入时间",
        width=18,
        aliases=("登记日期", "来访时间", "来访日期"),
    ),
    Column("wanted_area", "意向面积", "text", help="可空，如 90-110", aliases=("需求面积",)),
    Column("budget_min", "预算下限（万元）", "money", help="万元，可空", width=12),
    Column(
        "budget_max",
        "预算上限（万元）",
        "money",
        help="万元，可空",
        example=Decimal("180.00"),
        width=12,
        aliases=("预算",),
    ),
    Column("purpose", "购房目的", "choice", choices=Purpose, help="可空", width=8),
    Column("age_band", "年龄段", "text", help="可空，如 30-40岁", width=8),
    Column("occupation", "职业", "text", help="可空；代码表“职业”中的名称，其他文字按“其他”记"),
    Column("education", "文化程度", "choice", choices=Education, help="可空", width=10),
    Column("residence_district", "居住区域", "text", help="可空", aliases=("居住区",)),
    Column("work_district", "工作区域", "text", help="可空", aliases=("工作区",)),
    Column("family_size", "家庭人数", "integer", help="可空，整数", width=8),
    Column("note", "备注", "text", help="可空", example=EXAMPLE_NOTE, width=24),
)

FORMAT = xlsx.TableFormat(
    columns=COLUMNS,
    sheet=DATA_SHEET,
    key_field="phone",
    empty_message=gettext_lazy("工作表是空的：第一行应为表头，从第二行起每行一位客户。"),
    not_table_message=gettext_lazy(
        "第 %(row)d 行不是客户表的表头：必须包含 %(required)s 等列，请使用下载的模板。"
    ),
    no_data_message=gettext_lazy("文件中没有客户数据：表头下方至少需要一行。"),
    invalid_message=gettext_lazy("导入文件有 %(count)d 处问题，未导入任何客户。"),
    row_noun="一位客户",
    choice_aliases={
        "grade": {"很有希望": Grade.A, "有希望": Grade.B, "一般": Grade.C, "希望渺茫": Grade.D},
    },
)


# --- results ------------------------------------------------------------------------


def _counts(names) -> list[tuple[str, int]]:
    return Counter(names).most_common()


@dataclass
class CustomerImportResult(xlsx.ImportResult):
    # The Excel row of each customer in ``items`` (for the audit trail).
    row_numbers: list[int] = field(default_factory=list)

    def summary(self) -> dict:
        """Rows, (name, customers) per consultant, grade and channel, registration dates."""
        dates = [c.registered_at for c in self.items]
        return {
            "rows": self.rows,
            "owners": _counts(c.owner.real_name or c.owner.username for c in self.items),
            "grades": sorted(Counter(c.grade for c in self.items).items()),
            "channels": _counts(c.channel.name if c.channel else "—" for c in self.items),
            "with_id_number": sum(1 for c in self.items if c.id_number),
            "first": min(dates) if dates else None,
            "last": max(dates) if dates else None,
        }


# --- reading ------------------------------------------------------------------------


def _owners(table: xlsx.Table) -> dict[str, User]:
    """The consultants the file names, by 工号 and by username (one query)."""
    names = {
        xlsx.text(value)
        for _number, values in table.rows
        if not xlsx.blank(value := table.value(values, "owner"))
    }
    if not names:
        return {}
    users = list(User.objects.filter(Q(employee_no__in=names) | Q(username__in=names)))
    found = {user.username: user for user in users}
    found.update({user.employee_no: user for user in users if user.employee_no})
    return found


def _owner(data: dict, owners: dict, default, problem: RowProblems):
    name = data.get("owner")
    if not name:
        if default is None and "owner" not in problem.bad:
            problem("owner", _("必须填写：您不是本项目的置业顾问，请为每位客户指定归属顾问"))
        return default
    owner = xlsx.lookup_name(owners, name)
    if owner is None:
        problem("owner", _("找不到工号或用户名为「%(name)s」的员工") % {"name": name})
    return owner


def _channel(data: dict, channels: dict, problem: RowProblems):
    name = data.get("channel")
    if not name:
        return None
    channel = xlsx.lookup_name(channels, name)
    if channel is None:
        active = "、".join(n for n, c in channels.items() if c.is_active) or _("（尚未设置）")
        problem(
            "channel",
            _("认知途径「%(name)s」不存在，可选：%(names)s") % {"name": name, "names": active},
        )
    elif not channel.is_active:
        problem("channel", _("认知途径「%(name)s」已停用") % {"name": channel.name})
        channel = None
    return channel


def _normalized(check, value) -> str:
    try:
        return check(value) if value else ""
    except DomainError:
        return ""


def _numbers(customer, data: dict) -> tuple[str, str, str]:
    """The row's phone, second phone and ID number as the registration stores them — also
    for a row refused for another reason, so that its 撞单 is reported at once; "" for a
    number that is not valid (the registration's rules report that)."""
    if customer is not None:
        return customer.phone, customer.phone2, customer.id_number
    return (
        _normalized(normalize_phone, data.get("phone")),
        _normalized(normalize_phone, data.get("phone2")),
        _normalized(lambda value: check_id_number(value).number, data.get("id_number")),
    )


@dataclass
class _Row:
    problem: RowProblems
    customer: Customer | None
    phone: str
    phone2: str
    id_number: str


def _check_numbers(rows: list[_Row], project) -> None:
    """A number twice in the file, or already a live customer's in the project (撞单 by
    the registration's own rule, ``selectors.existing_owners``: the owner's name only, as
    a consultant's registration is told)."""
    by_phone, by_id = selectors.existing_owners(
        project,
        phones=[r.phone for r in rows],
        id_numbers=[r.id_number for r in rows],
    )
    seen_phones: dict[str, int] = {}
    seen_ids: dict[str, int] = {}
    for row in rows:
        problem = row.problem
        if row.phone:
            if row.phone in seen_phones:
                problem("phone", _("与第 %(row)d 行的号码重复") % {"row": seen_phones[row.phone]})
            elif row.phone in by_phone:
                owner = selectors.owner_label(by_phone[row.phone])
                problem("phone", _("撞单：该号码已由 %(owner)s 登记") % {"owner": owner})
        if row.id_number:
            if row.id_number in seen_ids:
                problem(
                    "id_number",
                    _("与第 %(row)d 行的身份证号重复") % {"row": seen_ids[row.id_number]},
                )
            elif row.id_number in by_id:
                owner = selectors.owner_label(by_id[row.id_number])
                problem("id_number", _("撞单：该身份证号已由 %(owner)s 登记") % {"owner": owner})
        for number in (row.phone, row.phone2):
            if number:
                seen_phones.setdefault(number, problem.row)
        if row.id_number:
            seen_ids.setdefault(row.id_number, problem.row)


def read_customers(*, project: Project, file, user, file_name: str = "") -> CustomerImportResult:
    """Read and check the whole file; every problem is collected, nothing is written.

    ``file`` is bytes, a path or a (Django) file object; ``user`` is the importer (the
    default owner when they are a consultant of the project). Raises ``ImportFileError``
    when the file cannot be read as the customers workbook at all.
    """
    table = xlsx.read_table(file, FORMAT, file_name)
    result = CustomerImportResult(
        rows=len(table.rows), file_name=table.file_name, sha256=table.sha256
    )
    if table.problems:
        result.problems = table.problems
        return result

    parse = partial(xlsx.parse_cell, model=Customer, choice_maps=FORMAT.choice_maps())
    channels = {c.name: c for c in Channel.objects.filter(project=project)}
    # 意向户型: a layout of the project as it is; other words (an older sheet's free
    # text) are kept as 其他 with those words
    layouts = set(Layout.objects.filter(project=project).values_list("name", flat=True))
    owners = _owners(table)
    default_owner = user if access.has_perm(user, "customer.add", project) else None
    rows: list[_Row] = []
    for row_number, values in table.rows:
        problem = RowProblems(row_number, FORMAT)
        data = table.cells(values, problem, parse)
        owner = _owner(data, owners, default_owner, problem)
        optional = {name: data[name] for name in services.OPTIONAL_FIELDS if name in data}
        optional["channel"] = _channel(data, channels, problem)
        # 职业: the sheet holds words; those of an entry of the office's list are stored
        # as its code, any others as 其他 with those words (services.occupation_of)
        occupation = (optional.pop("occupation", "") or "").strip()
        if occupation:
            optional["occupation"] = services.OTHER_OCCUPATION
            optional["occupation_other"] = occupation
        customer = None
        layout = (data.get("wanted_layout") or "").strip()
        other = "" if not layout or layout in layouts else layout
        try:
            customer = services.customer_build(
                actor=user,
                project=project,
                owner=owner,
                name=data.get("name", ""),
                phone=data.get("phone", ""),
                wanted_layout=services.OTHER_LAYOUT if other else layout,
                wanted_layout_other=other,
                consent=data.get("consent", False),
                id_number=data.get("id_number", ""),
                data=optional,
                registered_at=data.get("registered_at"),
            )
            customer.stage = data.get("stage", Stage.POTENTIAL)
        except DomainError as exc:
            problem.add_error(exc)
        rows.append(_Row(problem, customer, *_numbers(customer, data)))
    _check_numbers(rows, project)

    problems = []
    for row in rows:
        if row.problem:
            problems.extend(row.problem.problems)
        else:
            result.items.append(row.customer)
            result.row_numbers.append(row.problem.row)
    result = result.finish(problems, FORMAT)
    if problems:
        result.row_numbers = []
    return result


# --- committing ---------------------------------------------------------------------


def customers_import(*, actor, project: Project, file, file_name: str = "") -> CustomerImportResult:
    """Import every row of the file or none. Needs ``customer.assign``.

    The file is read again here, inside the transaction that writes, under a lock on the
    project row (one import per project at a time), so that a customer registered since
    the preview is caught as 撞单; the database's unique constraints stay the last word
    against a registration at the same instant. Raises ``ImportInvalid`` with every
    problem. Each customer has its own audit entry (with the file and the row), and the
    file one more.
    """
    access.require_perm(actor, "customer.assign", project)

    def write(result):
        source = {"source": "import", "file": result.file_name, "sha256": result.sha256}
        for row, customer in zip(result.row_numbers, result.items, strict=True):
            customer.save(force_insert=True)
            audit_create(actor=actor, obj=customer, extra={**source, "row": row})
        ids = [c.pk for c in result.items]
        return {"owners": dict(result.summary()["owners"]), "customer_ids": [min(ids), max(ids)]}

    return xlsx.import_all_or_none(
        actor=actor,
        project=project,
        fmt=FORMAT,
        read=lambda: read_customers(project=project, file=file, user=actor, file_name=file_name),
        write=write,
        conflict=gettext_lazy("导入时发现有客户刚被他人登记，请重新上传预览。"),
        object_type="customers.customer",
        label=gettext_lazy("导入客户 %(count)d 位"),
        action="customer_import",
    )


# --- the template -------------------------------------------------------------------


def _help_rows(project, consultants) -> list[tuple[tuple, bool]]:
    notes = (
        "手机号或身份证号已属于本项目现有客户的（撞单）不能导入，预览中列出其归属顾问；同一号码在文件中只能出现一次。",
        "客户归属于“置业顾问”列的顾问（空白为导入人），归属期从导入时起算；登记时间保留文件中的时间。",
    )
    channels = list(
        Channel.objects.filter(project=project, is_active=True).values_list("name", flat=True)
    )
    people = [
        f"{u.employee_no or u.username} {u.real_name}（{u.username}）".strip() for u in consultants
    ]
    extra = [
        ((), False),
        (("本项目认知途径", "", "、".join(channels) or "（尚未设置）"), True),
        (("本项目置业顾问", "", "、".join(people) or "（尚无）"), True),
    ]
    return xlsx.help_rows(FORMAT, COLUMNS, notes, extra)


def customers_template(*, actor, project: Project) -> bytes:
    """The empty template (needs ``customer.assign``): header, one example row with the
    project's first channel and a consultant, explanations."""
    access.require_perm(actor, "customer.assign", project)
    consultants = list(eligible_users(project))
    owner = actor if actor in consultants else (consultants[0] if consultants else None)
    channel = Channel.objects.filter(project=project, is_active=True).first()
    examples = {
        "owner": (owner.employee_no or owner.username) if owner else None,
        "channel": channel.name if channel else None,
        # yesterday: an example dated later today would be refused before 10:00
        "registered_at": (timezone.localtime() - datetime.timedelta(days=1)).replace(
            hour=10, minute=0, second=0, microsecond=0
        ),
    }
    example = [examples.get(c.field, c.example) for c in COLUMNS]
    workbook = xlsx.build_workbook(
        DATA_SHEET, COLUMNS, [example], help=_help_rows(project, consultants), template=True
    )
    return xlsx.save(workbook)


CUSTOMERS = xlsx.ImportSpec(
    perm="customer.assign",
    read=read_customers,
    commit=customers_import,
    template=customers_template,
    template_name="客户导入模板",
)


# --- the 意向客户登记表 ---------------------------------------------------------------

REGISTER_COLUMNS = (
    Column("registered_at", "登记日期", "datetime", width=16),
    Column("name", "姓名", "text", width=10),
    Column("phone", "手机号", "code", width=14),
    Column("grade", "等级", "text", width=6),
    Column("stage", "阶段", "text", width=6),
    Column("wanted_layout", "意向户型", "text", width=12),
    Column("wanted_area", "意向面积", "text", width=10),
    Column("budget", "预算（万元）", "text", width=12),
    Column("channel", "认知途径", "text", width=12),
    Column("last_follow_up", "最近跟进", "datetime", width=16),
    Column("follow_ups", "跟进次数", "integer", width=8),
    Column("owner", "置业顾问", "text", width=10),
)


def can_see_all(user, project) -> bool:
    return access.has_perm(user, "customer.view", project)


def intent_register(*, user, project, owner=None):
    """The register's customers: a consultant's own (not the pool), or for those who see
    the project's customers all of them or one consultant's; newest registration first,
    with the count and time of the follow-ups."""
    qs = selectors.customer_list(user=user, project=project).filter(in_pool=False)
    if not can_see_all(user, project):
        qs = qs.filter(owner=user)
    elif owner is not None:
        qs = qs.filter(owner=owner)
    # A correlated subquery as the follow-up count's (selectors.customer_list): computed
    # for the page's rows only, no GROUP BY over the project's customers.
    last = FollowUp.objects.filter(customer=OuterRef("pk")).order_by("-at").values("at")[:1]
    return qs.annotate(last_follow_up=Subquery(last)).order_by("-registered_at", "-pk")


# The register's filters (its owner filter only for who sees every customer).
REGISTER_FILTERS = (
    "q",
    "grade",
    "stage",
    "channel",
    "owner",
    "registered_after",
    "registered_before",
)


def register_filter(params, *, user, project):
    """The register's filter set (the customer list's, CustomerFilterSet, without the
    filters a register does not have) and its rows as filtered, with the filters in use
    (for the export's audit entry)."""
    qs = intent_register(user=user, project=project)
    filterset = CustomerFilterSet(params or None, queryset=qs, project=project)
    drop = set(filterset.filters) - set(REGISTER_FILTERS)
    if not can_see_all(user, project):
        drop.add("owner")  # a consultant's register holds only their own
    for name in drop:
        del filterset.filters[name]
    used = {k: v for k, v in (params or {}).items() if k in filterset.filters and v}
    return filterset, (filterset.qs if filterset.is_bound else qs), used


def _amount(value) -> str:
    return f"{value.normalize():f}" if value is not None else ""


def budget_text(customer) -> str:
    low, high = _amount(customer.budget_min), _amount(customer.budget_max)
    if low and high:
        return low if low == high else f"{low}–{high}"
    return f"≥{low}" if low else (f"≤{high}" if high else "")


def register_row(user, customer) -> dict:
    """One line of the register as this viewer may see it (the phone through
    selectors.contact: full only for the owner)."""
    return {
        "customer": customer,
        "registered_at": customer.registered_at,
        "name": customer.name,
        "phone": selectors.contact(user, customer)["phone"],
        "grade": customer.grade,
        "stage": customer.get_stage_display(),
        "wanted_layout": customer.wanted_layout,
        "wanted_area": customer.wanted_area,
        "budget": budget_text(customer),
        "channel": customer.channel.name if customer.channel else "",
        "last_follow_up": customer.last_follow_up,
        "follow_ups": customer.follow_up_count,
        "owner": customer.owner.real_name if customer.owner else "",
    }


def export_needs_approval(project) -> bool:
    """Whether the project wants the manager's written consent for a customer export
    (``CustomerPolicy``; seed 002 客户信息管理制度 5.1)."""
    return CustomerPolicy.objects.filter(project=project, export_needs_approval=True).exists()


# The project whose approved export request is being built right now
# (``exports.export_download`` sets it around the list's builder, so a list's own export
# function asks the one rule below unchanged and passes).
_consented: ContextVar[int | None] = ContextVar("export_consented", default=None)


@contextmanager
def consented(project_id: int):
    """Within: the exports of ``project_id`` are an approved request's download."""
    token = _consented.set(project_id)
    try:
        yield
    finally:
        _consented.reset(token)


def require_export_consent(project, *, approved: bool = False, message=None) -> None:
    """The one rule for every export of customers' personal data (the 意向客户登记表, the
    deal lists and 成交客户档案 with the buyers' names and phones, the after-sales lists
    with the owners'): where the project wants the manager's written consent
    (``export_needs_approval``), the file is built only for the download of an approved
    request (``approved``: ``exports.export_download``); any other export is refused
    with ``export_needs_approval`` (seed 002 客户信息管理制度 5.1)."""
    project_id = getattr(project, "pk", project)
    if _consented.get() is not None and _consented.get() == project_id:
        approved = True
    if not approved and export_needs_approval(project):
        if message:
            raise DomainError(CustomerError.EXPORT_NEEDS_APPROVAL, message)
        raise DomainError(
            CustomerError.EXPORT_NEEDS_APPROVAL, fields={"reason": [_("请填写导出理由")]}
        )


def register_export(
    *, actor, project: Project, queryset, filters: dict, approved: bool = False
) -> tuple[bytes, int]:
    """The register as xlsx, masked as on the page (needs ``customer.export``; audited
    as an export with the filters that chose the rows). Where the project wants the
    manager's written consent, only an approved request's download (``approved``,
    ``exports.export_download``) builds it."""
    access.require_perm(actor, "customer.export", project)
    require_export_consent(project, approved=approved)

    def rows():
        for customer in queryset.iterator(chunk_size=2000):
            line = register_row(actor, customer)
            yield [line[c.field] for c in REGISTER_COLUMNS]

    return xlsx.export_audited(
        actor=actor,
        project=project,
        what="customers.customer",
        sheet=REGISTER_SHEET,
        columns=REGISTER_COLUMNS,
        rows=rows(),
        filters={"report": "intent_register", **filters},
    )
