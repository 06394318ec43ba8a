"""Area settlement 面积补差 and certificates 权证 (issue 14; 商品房销售管理办法 Art. 20; seed
001 七 客服合同管理 权证办理).

* The rule (pure, no database): ``settle(contract_area, measured_area, unit_price,
  threshold=3, double_refund=True)`` and ``settle_basis`` (which areas a pricing basis
  compares; 按套计价 has no settlement), each with the Chinese arithmetic shown on the
  notice 面积补差通知书.
* Measured areas 实测面积 from the surveyor's xlsx (``read_measured``,
  ``measured_import``: preview, row errors naming row and column, all rows or none; a
  row replaces the unit's previous values, audited).
* Settlement services (one transaction, one audit entry each): ``settlement_compute``,
  ``settlement_compute_building``, ``settlement_notify``, ``settlement_refund_paid``.
* Certificate services: ``certificate_open``, ``certificate_move``,
  ``certificate_check_document``, ``certificate_register_mortgage``.
* Selectors (restricted to what the user may see): settlements and certificates of a
  project, their FilterSets (shared by the pages and the API), days in stage,
  ``certificate_reminders`` for the service staff's home page, and the xlsx exports.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import django_filters
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loupan.accounts import access
from loupan.audit.services import audit_create, audit_record, audit_update
from loupan.core import checklist, xlsx
from loupan.core.dates import PAST_OR_TODAY, parse_date
from loupan.core.errors import Code, DomainError, ErrorCode, conflict, invalid
from loupan.core.money import ZERO, money, rmb_upper, to_decimal
from loupan.core.querysets import per_row
from loupan.core.snapshot import snapshot
from loupan.core.xlsx import EXAMPLE_NOTE, CellError, Column, RowProblems
from loupan.customers import exports as customer_exports
from loupan.deals.filters import deal_search_q
from loupan.deals.models import Deal, DealStatus, PaymentMethod, SpecialClause
from loupan.inventory.models import Building, PricingBasis, Project, Unit
from loupan.payments.models import LOAN_KINDS, ItemKind, LedgerEntry, Mortgage, ScheduleItem
from loupan.payments.schedule import paid_by_item
from loupan.payments.services import refund_paid

from . import rules
from .errors import AftersalesError
from .models import (
    Certificate,
    CertificateEvent,
    CertificateStage,
    MeasuredArea,
    Settlement,
    SettlementRule,
    SettlementStatus,
)

Stage = CertificateStage
HUNDRED = Decimal("100")
LEGAL_THRESHOLD = Decimal("3")
RATIO_PLACES = Decimal("0.01")
# An amount due is payable this many days after the notice (the refund "within 30 days"
# of Art. 20 gives the same rhythm).
DUE_DAYS = 30


class SettlementError(Code):
    """Settlement and certificate codes of their own (the one error shape)."""

    ALREADY_NOTIFIED = "already_notified", 409, gettext_lazy("面积补差已通知业主，不能重新核算")
    NOT_COMPUTED = "not_computed", 409, gettext_lazy("面积补差当前状态不能通知")
    NOT_REFUND = "not_refund", 409, gettext_lazy("该面积补差不是待财务退款状态")
    NO_SETTLEMENT = "no_settlement", 409, gettext_lazy("按套计价，无需面积补差")
    CERTIFICATE_EXISTS = "certificate_exists", 409, gettext_lazy("该交易已有权证档案")
    DOCUMENTS_MISSING = "documents_missing", 409, gettext_lazy("办证资料尚未收齐")
    MORTGAGE_NOT_REGISTERED = (
        "mortgage_not_registered",
        409,
        gettext_lazy("抵押登记办理完毕后才能把权证交给业主"),
    )
    CERTIFICATE_NUMBER_REQUIRED = (
        "certificate_number_required",
        400,
        gettext_lazy("出证须填写不动产权证号"),
    )


# --- the rule (pure) -----------------------------------------------------------------------


class Band:
    """Where a settlement falls (the list's filter)."""

    WITHIN = "within"
    ABOVE = "above"
    BELOW = "below"
    NONE = "none"


BAND_CHOICES = [
    (Band.WITHIN, gettext_lazy("误差比在限度以内（含 ±3%）")),
    (Band.ABOVE, gettext_lazy("超出 +3%（面积增加）")),
    (Band.BELOW, gettext_lazy("超出 −3%（面积减少）")),
    (Band.NONE, gettext_lazy("按套计价，不补差")),
]


@dataclass(frozen=True)
class SettleResult:
    """What the rule gives: the error ratio in percent (two places), the amount the buyer
    pays (+) or is refunded (−), what the developer bears beyond the plain settlement on
    the measured area (the area beyond the limit it does not charge, or the second
    refund of the area beyond the limit), whether the buyer may cancel, the band and
    the arithmetic as lines of Chinese."""

    rule: str
    contract_area: Decimal
    measured_area: Decimal
    unit_price: Decimal
    error_ratio: Decimal
    amount: Decimal
    developer_bears: Decimal
    buyer_may_cancel: bool
    band: str
    threshold: Decimal
    double_refund: bool
    workings: list = field(default_factory=list)


def _num(value: Decimal) -> str:
    """A figure as the notice writes it: thousands separated, two decimals at least, the
    exact digits beyond two kept (3% of 118.52 ㎡ is 3.5556 ㎡)."""
    value = Decimal(value)
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent if isinstance(exponent, int) else 2)
    return f"{value:,.{places}f}"


def _pct(value: Decimal) -> str:
    text = f"{Decimal(value).normalize():f}"
    return text


def _signed(value: Decimal) -> str:
    text = _num(value)
    return "+" + text if value > 0 else text.replace("-", "−")


def _decimal(value, name: str) -> Decimal:
    number = to_decimal(value)
    if not number.is_finite():
        raise ValueError(f"{name} is not a number")
    return number


def settle(
    contract_area, measured_area, unit_price, threshold=LEGAL_THRESHOLD, double_refund=True
) -> SettleResult:
    """商品房销售管理办法 Art. 20 (the legal default at ``threshold`` 3%, or a contract's
    agreed limit): error ratio = (measured − contract) / contract × 100%.

    * |ratio| ≤ limit (inclusive): settle on the measured area, (measured − contract) ×
      price, paid by the buyer or refunded;
    * ratio > +limit: the buyer pays only contract × limit × price, the developer bears
      (measured − contract − contract × limit) × price;
    * ratio < −limit: the developer refunds contract × limit × price once and the part
      beyond, (contract − measured − contract × limit) × price, twice (once with
      ``double_refund`` False); the second refund is what it bears;
    * beyond the limit either way the buyer may cancel.

    The band is decided on the exact ratio; each money figure is rounded to the fen with
    ``core.money.money`` and the ratio to two places. Floats are refused."""
    contract = _decimal(contract_area, "contract_area")
    measured = _decimal(measured_area, "measured_area")
    price = _decimal(unit_price, "unit_price")
    limit_pct = _decimal(threshold, "threshold")
    if contract <= 0:
        raise ValueError("contract_area must be positive")
    if measured <= 0:
        raise ValueError("measured_area must be positive")
    if price < 0:
        raise ValueError("unit_price must not be negative")
    if limit_pct < 0:
        raise ValueError("threshold must not be negative")
    legal = limit_pct == LEGAL_THRESHOLD and double_refund
    diff = measured - contract
    exact_ratio = diff / contract * HUNDRED
    ratio = exact_ratio.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)
    limit = contract * limit_pct / HUNDRED  # the area within the limit, exact
    t = _pct(limit_pct)
    lines = [
        _("合同面积 %(c)s ㎡，实测面积 %(m)s ㎡，合同单价 %(p)s 元/㎡")
        % {"c": _num(contract), "m": _num(measured), "p": _num(price)},
        _("面积误差 = %(m)s − %(c)s = %(d)s ㎡")
        % {"m": _num(measured), "c": _num(contract), "d": _signed(diff)},
    ]
    ratio_line = _("面积误差比 = %(d)s ÷ %(c)s × 100%% = %(r)s%%") % {
        "d": _signed(diff),
        "c": _num(contract),
        "r": _signed(ratio),
    }
    beyond = abs(exact_ratio) > limit_pct
    if abs(ratio) == limit_pct and exact_ratio != ratio:
        ratio_line += _("（精确值 %(e)s%%，%(w)s %(t)s%%）") % {
            "e": f"{exact_ratio.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP):f}",
            "w": _("超出") if beyond else _("未超出"),
            "t": t,
        }
    lines.append(ratio_line)
    bears = ZERO
    if not beyond:
        band = Band.WITHIN
        amount = money(diff * price)
        lines.append(
            _("误差比绝对值在 %(t)s%% 以内（含 %(t)s%%），按实测面积据实结算：") % {"t": t}
            + _("%(d)s × %(p)s = %(a)s 元")
            % {"d": _signed(diff), "p": _num(price), "a": _num(amount)}
        )
    elif diff > 0:
        band = Band.ABOVE
        amount = money(limit * price)
        bears = money((diff - limit) * price)
        lines += [
            _("%(t)s%% 以内部分由买受人补交：%(c)s × %(t)s%% × %(p)s = %(l)s × %(p)s = %(a)s 元")
            % {"t": t, "c": _num(contract), "p": _num(price), "l": _num(limit), "a": _num(amount)},
            _("超出 %(t)s%% 部分由出卖人承担：(%(d)s − %(l)s) × %(p)s = %(b)s 元")
            % {"t": t, "d": _num(diff), "l": _num(limit), "p": _num(price), "b": _num(bears)},
        ]
    else:
        band = Band.BELOW
        within_part = money(limit * price)
        rest = money((-diff - limit) * price)
        times = 2 if double_refund else 1
        amount = -(within_part + times * rest)
        bears = rest if double_refund else ZERO
        lines.append(
            _("%(t)s%% 以内部分由出卖人返还：%(c)s × %(t)s%% × %(p)s = %(l)s × %(p)s = %(a)s 元")
            % {
                "t": t,
                "c": _num(contract),
                "p": _num(price),
                "l": _num(limit),
                "a": _num(within_part),
            }
        )
        if double_refund:
            lines.append(
                _(
                    "超出 %(t)s%% 部分由出卖人双倍返还：2 × (%(d)s − %(l)s) × %(p)s = 2 × %(r)s = %(x)s 元"
                )
                % {
                    "t": t,
                    "d": _num(-diff),
                    "l": _num(limit),
                    "p": _num(price),
                    "r": _num(rest),
                    "x": _num(2 * rest),
                }
            )
        else:
            lines.append(
                _("超出 %(t)s%% 部分由出卖人返还：(%(d)s − %(l)s) × %(p)s = %(r)s 元")
                % {"t": t, "d": _num(-diff), "l": _num(limit), "p": _num(price), "r": _num(rest)}
            )
        lines.append(
            _("合计返还：%(a)s + %(x)s = %(s)s 元")
            % {"a": _num(within_part), "x": _num(times * rest), "s": _num(-amount)}
        )
    if beyond:
        lines.append(
            _("误差比绝对值超出 %(t)s%%，买受人有权退房（商品房销售管理办法第二十条）。") % {"t": t}
        )
    if amount > 0:
        lines.append(
            _("结论：买受人应补交 %(a)s 元（人民币%(u)s）。")
            % {"a": _num(amount), "u": rmb_upper(amount)}
        )
    elif amount < 0:
        lines.append(
            _("结论：出卖人应返还 %(a)s 元（人民币%(u)s）。")
            % {"a": _num(-amount), "u": rmb_upper(-amount)}
        )
    else:
        lines.append(_("结论：无需补差。"))
    return SettleResult(
        rule=SettlementRule.LEGAL if legal else SettlementRule.CONTRACT,
        contract_area=contract,
        measured_area=measured,
        unit_price=price,
        error_ratio=ratio,
        amount=amount,
        developer_bears=bears,
        buyer_may_cancel=beyond,
        band=band,
        threshold=limit_pct,
        double_refund=bool(double_refund),
        workings=lines,
    )


BASIS_LABELS = {
    PricingBasis.GROSS_AREA: gettext_lazy("按建筑面积计价，比较建筑面积"),
    PricingBasis.INTERNAL_AREA: gettext_lazy("按套内面积计价，比较套内面积"),
}


def settle_basis(
    basis: str,
    *,
    contract_area,
    measured_gross,
    measured_internal,
    unit_price,
    threshold=LEGAL_THRESHOLD,
    double_refund=True,
) -> SettleResult:
    """The rule on a deal's pricing basis: 按建筑面积 compares gross areas, 按套内面积
    internal areas (the contract area is the priced one, ``Deal.area``); 按套计价 has no
    settlement (rule ``none``, nothing due, no right to cancel)."""
    if basis not in (PricingBasis.GROSS_AREA, PricingBasis.INTERNAL_AREA):
        contract = to_decimal(contract_area or 0)
        measured = to_decimal(measured_gross or 0)
        return SettleResult(
            rule=SettlementRule.NONE,
            contract_area=contract,
            measured_area=measured,
            unit_price=to_decimal(unit_price or 0),
            error_ratio=ZERO,
            amount=ZERO,
            developer_bears=ZERO,
            buyer_may_cancel=False,
            band=Band.NONE,
            threshold=to_decimal(threshold),
            double_refund=bool(double_refund),
            workings=[_("按套计价：合同按套约定总价，不因面积误差补差。")],
        )
    measured = measured_gross if basis == PricingBasis.GROSS_AREA else measured_internal
    if measured is None:
        raise ValueError("no measured area on the basis")
    result = settle(contract_area, measured, unit_price, threshold, double_refund)
    result.workings.insert(0, str(BASIS_LABELS[basis]))
    return result


# --- parsing ---------------------------------------------------------------------------------


def _day(value, field_name="on") -> datetime.date:
    return parse_date(value, field_name, default_today=True, when=PAST_OR_TODAY)


def _moment(day: datetime.date):
    if day == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _text(value, field_name, limit, required_message=None) -> str:
    text = (value or "").strip()
    if required_message and not text:
        raise invalid(field_name, required_message)
    if len(text) > limit:
        raise invalid(field_name, _("最多 %(n)d 个字") % {"n": limit})
    return text


def parse_amount(value, field_name: str, *, positive=True) -> Decimal:
    """A number given as text (or Decimal / int); a float is refused."""
    try:
        if isinstance(value, float | bool):
            raise TypeError
        number = to_decimal(value)
    except (TypeError, ValueError) as exc:
        raise invalid(field_name, _("必须是数字（以字符串提交，如“100.00”）")) from exc
    if not number.is_finite():
        raise invalid(field_name, _("必须是数字"))
    if positive and number <= 0:
        raise invalid(field_name, _("必须大于 0"))
    if number < 0:
        raise invalid(field_name, _("不能为负数"))
    if number >= Decimal("1e10"):
        raise invalid(field_name, _("数值过大"))
    return number


def calculate(*, contract_area, measured_area, unit_price) -> SettleResult:
    """The calculator (page and API): one case under the legal rule, nothing saved."""
    contract = parse_amount(contract_area, "contract_area")
    measured = parse_amount(measured_area, "measured_area")
    price = parse_amount(unit_price, "unit_price", positive=False)
    return settle(contract, measured, price)


# --- predicates --------------------------------------------------------------------------------


may_see = rules.may_see


def can_manage(user, deal) -> rules.Answer:
    return rules.can_manage(user, deal.project_id)


def can_compute(user, deal) -> rules.Answer:
    for answer in (can_manage(user, deal), rules.contracted(deal)):
        if not answer[0]:
            return answer
    return rules.YES


def _not_notified(settlement) -> rules.Answer:
    if settlement.status != SettlementStatus.COMPUTED:
        return False, conflict(
            _("面积补差当前为「%(s)s」，已通知业主，不能重新核算。")
            % {"s": settlement.get_status_display()},
            "status",
            SettlementError.ALREADY_NOTIFIED,
        )
    return rules.YES


def can_notify(user, settlement) -> rules.Answer:
    for answer in (can_manage(user, settlement.deal), rules.contracted(settlement.deal)):
        if not answer[0]:
            return answer
    if settlement.status != SettlementStatus.COMPUTED:
        return False, conflict(
            _("面积补差当前为「%(s)s」，不能再次通知。") % {"s": settlement.get_status_display()},
            "status",
            SettlementError.NOT_COMPUTED,
        )
    return rules.YES


def can_refund(user, settlement) -> rules.Answer:
    """Finance alone pays money out (``payment.record``), on a settlement waiting for
    its refund."""
    if not access.has_perm(user, "payment.record", settlement.project_id):
        return False, access.permission_error("payment.record")
    if settlement.status != SettlementStatus.REFUND:
        return False, conflict(
            _("面积补差当前为「%(s)s」，不是待财务退款。") % {"s": settlement.get_status_display()},
            "status",
            SettlementError.NOT_REFUND,
        )
    return rules.YES


def settlement_abilities(user, settlement) -> dict:
    return {
        "compute": can_compute(user, settlement.deal)[0] and _not_notified(settlement)[0],
        "notify": can_notify(user, settlement)[0],
        "refund": can_refund(user, settlement)[0],
        "cancel": settlement.buyer_may_cancel
        and settlement.deal.status == DealStatus.CONTRACTED
        and access.has_perm(user, "deal.view", settlement.project_id),
    }


# --- measured areas 实测面积 (import) -----------------------------------------------------------

MEASURED_SHEET = "实测面积"

MEASURED_COLUMNS = (
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
        "number",
        "房号",
        "code",
        True,
        help="房间编号，如 1栋1单元101，或楼栋后的部分 1单元101",
        example="1栋1单元101",
        width=16,
        aliases=("房间", "房间号", "房间编号", "户号"),
    ),
    Column(
        "gross_area",
        "实测建筑面积（㎡）",
        "area",
        True,
        help="测绘报告中的建筑面积，两位小数",
        example=Decimal("89.50"),
        aliases=("实测建筑面积", "建筑面积"),
    ),
    Column(
        "internal_area",
        "实测套内面积（㎡）",
        "area",
        help="测绘报告中的套内建筑面积；按套内面积计价的房间必填",
        example=Decimal("72.30"),
        aliases=("实测套内面积", "套内面积", "套内建筑面积"),
    ),
    Column(
        "surveyed_on",
        "测绘日期",
        "date",
        help="如 2026-03-01，不能晚于今天",
        width=12,
        aliases=("实测日期", "测量日期"),
    ),
    Column(
        "report",
        "测绘报告",
        "text",
        help="测绘报告编号或名称",
        example="测绘报告 CH-2026-018",
        width=20,
        aliases=("测绘报告编号", "报告编号"),
    ),
    Column("note", "备注", "text", help="可空", example=EXAMPLE_NOTE, width=24),
)

MEASURED_FORMAT = xlsx.TableFormat(
    columns=MEASURED_COLUMNS,
    sheet=MEASURED_SHEET,
    key_field="gross_area",
    empty_message=gettext_lazy("工作表是空的：第一行应为表头，从第二行起每行一个房间。"),
    not_table_message=gettext_lazy(
        "第 %(row)d 行不是实测面积表的表头：必须包含 %(required)s 等列，请使用下载的模板。"
    ),
    no_data_message=gettext_lazy("文件中没有实测面积数据：表头下方至少需要一行。"),
    invalid_message=gettext_lazy("导入文件有 %(count)d 处问题，未导入任何实测面积。"),
    row_noun="一个房间",
)


def _parse_measured_cell(column: Column, value):
    if column.kind == "area":
        number = xlsx.decimal(value)
        if number <= 0:
            raise CellError(_("必须是大于 0 的数"))
        if number >= xlsx.max_for(MeasuredArea, column.field):
            raise CellError(_("数值过大"))
        return number
    if column.kind == "date":
        day = timezone.localdate(xlsx.when(value))
        if day > timezone.localdate():
            raise CellError(_("测绘日期不能晚于今天"))
        return day
    return xlsx.parse_cell(column, value, model=MeasuredArea, choice_maps={})


@dataclass
class MeasuredRow:
    """One valid row: the unit and its new values (and the old ones it replaces)."""

    row: int
    unit: Unit
    gross_area: Decimal
    internal_area: Decimal | None
    surveyed_on: datetime.date | None
    report: str
    previous: MeasuredArea | None = None


@dataclass
class MeasuredImportResult(xlsx.ImportResult):
    def summary(self) -> dict:
        replaced = [r for r in self.items if r.previous is not None]
        changed = [
            r
            for r in replaced
            if (r.previous.gross_area, r.previous.internal_area) != (r.gross_area, r.internal_area)
        ]
        buildings: dict[str, int] = {}
        for r in self.items:
            buildings[r.unit.building.name] = buildings.get(r.unit.building.name, 0) + 1
        return {
            "rows": self.rows,
            "units": len(self.items),
            "new": len(self.items) - len(replaced),
            "replaced": len(replaced),
            "changed": len(changed),
            "buildings": sorted(buildings.items()),
        }


def can_import(user, project) -> bool:
    return access.has_perm(user, "aftersales.manage", project)


def read_measured(*, project, file, user=None, file_name: str = "") -> MeasuredImportResult:
    """Read and check the surveyor's file; every problem as (row, column, reason), nothing
    written. A row names a unit of the project (by 楼栋 and 房号), its measured gross
    area and, for a unit priced by internal area, its internal area (not above the
    gross); a unit twice in the file, or whose settlement is already notified to the
    buyer, is refused."""
    table = xlsx.read_table(file, MEASURED_FORMAT, file_name)
    result = MeasuredImportResult(
        rows=len(table.rows), file_name=table.file_name, sha256=table.sha256
    )
    if table.problems:
        result.problems = table.problems
        return result
    buildings = {b.name: b for b in Building.objects.filter(project=project)}
    units = {
        u.number: u
        for u in Unit.objects.filter(project=project).select_related("building", "measured")
    }
    notified = set(
        Settlement.objects.filter(project=project)
        .exclude(status=SettlementStatus.COMPUTED)
        .filter(deal__status=DealStatus.CONTRACTED)
        .values_list("deal__unit_id", flat=True)
    )
    internal_priced = set(
        Deal.objects.filter(
            project=project,
            status__in=(DealStatus.SUBSCRIBED, DealStatus.CONTRACTED),
            pricing_basis=PricingBasis.INTERNAL_AREA,
        ).values_list("unit_id", flat=True)
    )
    seen: dict[int, int] = {}
    problems = []
    for row_number, values in table.rows:
        problem = RowProblems(row_number, MEASURED_FORMAT)
        data = table.cells(values, problem, _parse_measured_cell)
        building = None
        if "building" in data:
            building = xlsx.lookup_name(buildings, data["building"])
            if building is None:
                problem("building", _("楼栋「%(n)s」不存在") % {"n": data["building"]})
        unit = None
        if building is not None and data.get("number"):
            number = data["number"]
            unit = units.get(number) or units.get(f"{building.name}{number}")
            if unit is None or unit.building_id != building.pk:
                problem(
                    "number",
                    _("%(b)s 没有房间「%(n)s」") % {"b": building.name, "n": number},
                )
                unit = None
        if unit is not None:
            if unit.pk in seen:
                problem(
                    "number",
                    _("房间 %(n)s 与第 %(row)d 行重复") % {"n": unit.number, "row": seen[unit.pk]},
                )
            else:
                seen[unit.pk] = row_number
            if unit.pk in notified:
                problem(
                    "number",
                    _("房间 %(n)s 的面积补差已通知业主，不能再修改实测面积") % {"n": unit.number},
                )
            if unit.pk in internal_priced and "internal_area" not in data:
                if "internal_area" not in problem.bad:
                    problem("internal_area", _("该房间按套内面积计价，必须填写实测套内面积"))
        gross, internal = data.get("gross_area"), data.get("internal_area")
        if gross is not None and internal is not None and internal > gross:
            problem("internal_area", _("套内面积不能大于建筑面积 %(g)s ㎡") % {"g": gross})
        if problem:
            problems.extend(problem.problems)
        elif unit is not None:
            previous = getattr(unit, "measured", None)
            result.items.append(
                MeasuredRow(
                    row=row_number,
                    unit=unit,
                    gross_area=gross,
                    internal_area=internal,
                    surveyed_on=data.get("surveyed_on"),
                    report=data.get("report", ""),
                    previous=previous,
                )
            )
    return result.finish(problems, MEASURED_FORMAT)


def measured_import(*, actor, project, file, file_name: str = "") -> MeasuredImportResult:
    """Import every row or none (``aftersales.manage``): each row creates the unit's
    measured areas or replaces the previous ones; one audit entry for the file with the
    units and, for a replacement, the values it replaced."""
    if not can_import(actor, project):
        raise access.permission_error("aftersales.manage")

    def write(result):
        now = timezone.now()
        replaced = {}
        for r in result.items:
            values = {
                "gross_area": r.gross_area,
                "internal_area": r.internal_area,
                "surveyed_on": r.surveyed_on,
                "report": r.report,
                "imported_by": actor,
                "imported_at": now,
            }
            if r.previous is not None:
                replaced[r.unit.number] = [
                    str(r.previous.gross_area),
                    str(r.previous.internal_area) if r.previous.internal_area is not None else "",
                ]
            MeasuredArea.objects.update_or_create(unit=r.unit, defaults=values)
        return {
            "units": [r.unit.number for r in result.items][:500],
            "replaced": replaced,
        }

    return xlsx.import_all_or_none(
        actor=actor,
        project=project,
        fmt=MEASURED_FORMAT,
        read=lambda: read_measured(project=project, file=file, user=actor, file_name=file_name),
        write=write,
        conflict=gettext_lazy("导入时实测面积被他人修改，请重新上传预览。"),
        object_type="aftersales.measuredarea",
        label=gettext_lazy("导入实测面积 %(count)d 户"),
        action="measured_import",
    )


def measured_template(*, actor, project) -> bytes:
    if not can_import(actor, project):
        raise access.permission_error("aftersales.manage")
    unit = Unit.objects.filter(project=project).select_related("building").order_by("pk").first()
    examples = {
        "building": unit.building.name if unit else "1栋",
        "number": unit.number if unit else "1栋1单元101",
        "surveyed_on": timezone.localdate(),
    }
    example = [examples.get(c.field, c.example) for c in MEASURED_COLUMNS]
    notes = (
        "已有实测面积的房间再次导入时，以新文件的数值替换原值（记入审计日志）。",
        "面积补差已通知业主的房间不能再导入。",
    )
    columns = [
        Column(c.field, c.header, "text" if c.kind == "date" else c.kind, c.required, help=c.help)
        for c in MEASURED_COLUMNS
    ]
    workbook = xlsx.build_workbook(
        MEASURED_SHEET,
        columns,
        [example],
        help=xlsx.help_rows(MEASURED_FORMAT, MEASURED_COLUMNS, notes),
        template=True,
    )
    return xlsx.save(workbook)


MEASURED = xlsx.ImportSpec(
    perm="aftersales.manage",
    read=read_measured,
    commit=measured_import,
    template=measured_template,
    template_name="实测面积导入模板",
)


def measured_of(user, project):
    """The project's measured areas for those who see the project's after sales."""
    if not rules.may_see_all(user, project):
        return MeasuredArea.objects.none()
    return (
        MeasuredArea.objects.filter(unit__project=project)
        .select_related("unit__building", "imported_by")
        .order_by("unit__building__name", "unit__number", "pk")
    )


# --- settlements: services ---------------------------------------------------------------------

CONTRACT_LINE = re.compile(r"^合同约定：误差比绝对值 ([0-9.]+)% 以内")


def contract_line(threshold: Decimal, double_refund: bool) -> str:
    """The first line of a settlement under the contract's agreed rule (its terms, read
    back by a recomputation)."""
    t = _pct(threshold)
    return (
        f"合同约定：误差比绝对值 {t}% 以内（含）按实测面积结算；超出 +{t}% 部分由出卖人承担；"
        + (f"超出 −{t}% 部分出卖人双倍返还" if double_refund else f"超出 −{t}% 部分出卖人据实返还")
    )


def contract_terms(settlement) -> tuple[Decimal, bool] | None:
    """The agreed limit and double refund of a settlement under a contract rule."""
    if settlement is None or settlement.rule != SettlementRule.CONTRACT:
        return None
    for line in settlement.workings or []:
        found = CONTRACT_LINE.match(str(line))
        if found:
            return Decimal(found.group(1)), "双倍返还" in line
    return None


def _clause(deal, clause) -> SpecialClause:
    pk = getattr(clause, "pk", clause)
    found = (
        SpecialClause.objects.filter(deal=deal, approved=True, pk=pk).first()
        if str(pk).isdigit()
        else None
    )
    if found is None:
        raise invalid("clause", _("请选择本合同已批准的面积条款"))
    return found


def _threshold(value) -> Decimal:
    if value in (None, ""):
        raise invalid("threshold", _("请填写合同约定的面积误差比限度（%）"))
    number = parse_amount(value, "threshold")
    if number > 10 or number != number.quantize(RATIO_PLACES):
        raise invalid("threshold", _("误差比限度须大于 0、不超过 10%，最多两位小数"))
    return number


def _measured_for(deal) -> MeasuredArea:
    measured = MeasuredArea.objects.filter(unit_id=deal.unit_id).first()
    if measured is None:
        raise conflict(
            _("房间 %(u)s 还没有实测面积，请先导入测绘结果。") % {"u": deal.unit.number},
            "deal",
            AftersalesError.NO_MEASURED_AREA,
        )
    if deal.pricing_basis == PricingBasis.INTERNAL_AREA and measured.internal_area is None:
        raise conflict(
            _("房间 %(u)s 按套内面积计价，但没有实测套内面积。") % {"u": deal.unit.number},
            "deal",
            AftersalesError.NO_MEASURED_AREA,
        )
    return measured


def settlement_compute(
    *,
    actor,
    deal: Deal,
    clause=None,
    threshold=None,
    double_refund=None,
    legal: bool = False,
) -> Settlement:
    """Compute (or recompute, while not yet notified) a contracted deal's settlement from
    its unit's measured areas (``NO_MEASURED_AREA`` without them) on the deal's pricing
    basis. The legal default unless the contract agrees its own rule: ``clause`` (an
    approved special clause of the deal that the service staff marks as the area
    clause) with its ``threshold`` % and ``double_refund``; a recomputation keeps the
    agreed rule already recorded unless ``legal`` says to go back to the law's."""
    rules.ensure(can_compute(actor, deal))
    with transaction.atomic():
        deal = (
            Deal.objects.select_for_update(of=("self",))
            .select_related("project", "unit")
            .get(pk=deal.pk)
        )
        rules.ensure(can_compute(actor, deal))
        existing = Settlement.objects.select_for_update(of=("self",)).filter(deal=deal).first()
        if existing is not None:
            rules.ensure(_not_notified(existing))
        measured = _measured_for(deal)
        clause_text = ""
        terms = None
        if clause not in (None, ""):
            chosen = _clause(deal, clause)
            terms = (_threshold(threshold), True if double_refund is None else bool(double_refund))
            clause_text = chosen.text
        elif not legal and existing is not None and contract_terms(existing):
            terms = contract_terms(existing)
            clause_text = existing.clause
        if deal.pricing_basis in (PricingBasis.GROSS_AREA, PricingBasis.INTERNAL_AREA) and (
            deal.area is None or deal.unit_price is None
        ):
            raise conflict(_("交易没有计价面积或单价，无法核算。"), "deal")
        threshold_value, double = terms or (LEGAL_THRESHOLD, True)
        result = settle_basis(
            deal.pricing_basis,
            contract_area=deal.area,
            measured_gross=measured.gross_area,
            measured_internal=measured.internal_area,
            unit_price=deal.unit_price,
            threshold=threshold_value,
            double_refund=double,
        )
        rule = result.rule
        workings = list(result.workings)
        if terms is not None and rule != SettlementRule.NONE:
            rule = SettlementRule.CONTRACT
            workings.insert(0, contract_line(threshold_value, double))
        elif rule == SettlementRule.CONTRACT:  # the legal limit, no clause: the law
            rule = SettlementRule.LEGAL
        values = {
            "project_id": deal.project_id,
            "rule": rule,
            "clause": clause_text if rule == SettlementRule.CONTRACT else "",
            "basis": deal.pricing_basis,
            "contract_area": money(result.contract_area),
            "measured_area": money(result.measured_area),
            "unit_price": money(result.unit_price),
            "error_ratio": result.error_ratio,
            "amount": result.amount,
            "developer_bears": result.developer_bears,
            "buyer_may_cancel": result.buyer_may_cancel,
            "workings": workings,
            "computed_by": actor,
            "computed_at": timezone.now(),
        }
        if existing is None:
            settlement = Settlement.objects.create(deal=deal, **values)
            audit_create(actor=actor, obj=settlement, extra={"deal": deal.number})
        else:
            before = snapshot(existing)
            for name, value in values.items():
                setattr(existing, name, value)
            existing.save()
            settlement = existing
            audit_update(actor=actor, obj=settlement, before=before, extra={"deal": deal.number})
    return settlement


@dataclass
class BuildingRun:
    computed: list = field(default_factory=list)
    skipped: list = field(default_factory=list)  # (deal, reason)


def settlement_compute_building(*, actor, project, building) -> BuildingRun:
    """Compute every contracted deal of a building in one action: each deal in its own
    transaction (``settlement_compute``); a deal without measured areas or already
    notified is skipped with the reason."""
    rules.ensure(rules.can_manage(actor, project))
    building = Building.objects.filter(
        project=project, pk=getattr(building, "pk", building)
    ).first()
    if building is None:
        raise invalid("building", _("请选择本项目的楼栋"))
    run = BuildingRun()
    deals = (
        Deal.objects.filter(project=project, status=DealStatus.CONTRACTED, unit__building=building)
        .select_related("unit", "project")
        .order_by("unit__number", "pk")
    )
    for deal in deals:
        try:
            run.computed.append(settlement_compute(actor=actor, deal=deal))
        except DomainError as exc:
            run.skipped.append((deal, str(exc.message)))
    audit_record(
        actor=actor,
        action="action",
        project_id=project.pk,
        object_type="aftersales.settlement",
        object_repr=f"{building.name} 面积补差核算",
        extra={
            "action": "settlement_compute_building",
            "building": building.name,
            "computed": len(run.computed),
            "skipped": [d.number for d, _r in run.skipped],
        },
    )
    return run


def _lock(settlement) -> Settlement:
    return (
        Settlement.objects.select_for_update(of=("self",))
        .select_related("deal", "deal__project", "deal__unit")
        .get(pk=settlement.pk)
    )


def _next_seq(deal) -> int:
    last = (
        ScheduleItem.objects.filter(deal_id=deal.pk)
        .order_by("-seq")
        .values_list("seq", flat=True)
        .first()
    )
    return (last or 0) + 1


def settlement_notify(*, actor, settlement: Settlement, due_days: int = DUE_DAYS) -> Settlement:
    """Notify the buyer 面积补差通知 (the printable notice): an amount due becomes the
    deal's schedule item 面积补差款, due ``due_days`` after today (status 已计入付款计划);
    a refund goes to finance (status 待财务退款); nothing to settle is 已结清. Beyond the
    limit the notice tells the buyer they may cancel, which runs through the deal's
    cancellation flow."""
    with transaction.atomic():
        Deal.objects.select_for_update(of=("self",)).filter(pk=settlement.deal_id).first()
        settlement = _lock(settlement)
        rules.ensure(can_notify(actor, settlement))
        before = snapshot(settlement)
        now = timezone.now()
        settlement.notified_at = now
        extra = {"deal": settlement.deal.number}
        if settlement.amount > 0:
            due = timezone.localdate() + datetime.timedelta(days=int(due_days))
            item = ScheduleItem.objects.create(
                project_id=settlement.project_id,
                deal=settlement.deal,
                seq=_next_seq(settlement.deal),
                kind=ItemKind.SETTLEMENT,
                name=str(ItemKind.SETTLEMENT.label),
                amount=settlement.amount,
                due_date=due,
                original_due_date=due,
            )
            audit_create(actor=actor, obj=item, extra=extra)
            settlement.schedule_item = item
            settlement.status = SettlementStatus.SCHEDULED
            extra["due_date"] = due.isoformat()
        elif settlement.amount < 0:
            settlement.status = SettlementStatus.REFUND
        else:
            settlement.status = SettlementStatus.SETTLED
        settlement.save()
        audit_update(actor=actor, obj=settlement, before=before, extra=extra)
    return settlement


def settlement_refund_paid(
    *, actor, settlement: Settlement, method="transfer", paid_on=None, bank_reference: str = ""
) -> Settlement:
    """Finance pays the refund out (``payment.record``): one refund entry of the ledger
    (``payments.services.refund_paid``), the settlement 已退款."""
    rules.ensure(can_refund(actor, settlement))
    bank_reference = _text(bank_reference, "bank_reference", 60)
    with transaction.atomic():
        Deal.objects.select_for_update(of=("self",)).filter(pk=settlement.deal_id).first()
        settlement = _lock(settlement)
        rules.ensure(can_refund(actor, settlement))
        entry = refund_paid(
            actor=actor,
            deal=settlement.deal,
            amount=-settlement.amount,
            method=method,
            paid_on=paid_on,
            bank_reference=bank_reference,
            reason="面积补差退款",
        )
        before = snapshot(settlement)
        settlement.status = SettlementStatus.REFUNDED
        settlement.save(update_fields=["status"])
        audit_update(
            actor=actor,
            obj=settlement,
            before=before,
            extra={"deal": settlement.deal.number, "ledger_entry": entry.pk},
        )
    return settlement


# --- settlements: selectors ----------------------------------------------------------------------


def settlements_of(user, project):
    """The project's settlements the user may see (a consultant: their own buyers')."""
    return (
        Settlement.objects.restrict(user, "view")
        .filter(project=project)
        .select_related(
            "deal__unit__building", "deal__customer", "deal__consultant", "schedule_item"
        )
    )


def band_of(settlement) -> str:
    if settlement.rule == SettlementRule.NONE:
        return Band.NONE
    if not settlement.buyer_may_cancel:
        return Band.WITHIN
    return Band.ABOVE if settlement.measured_area > settlement.contract_area else Band.BELOW


BAND_Q = {
    Band.NONE: Q(rule=SettlementRule.NONE),
    Band.WITHIN: ~Q(rule=SettlementRule.NONE) & Q(buyer_may_cancel=False),
    Band.ABOVE: Q(buyer_may_cancel=True, measured_area__gt=F("contract_area")),
    Band.BELOW: Q(buyer_may_cancel=True, measured_area__lt=F("contract_area")),
}


def status_now(settlement) -> str:
    """The status as the page reads it: the deal cancelled 业主退房, an item fully paid
    已结清 (computed from the ledger, never written by a GET)."""
    if settlement.deal.status == DealStatus.CANCELLED:
        return SettlementStatus.CANCELLED
    if settlement.status == SettlementStatus.SCHEDULED and settlement.schedule_item_id:
        if hasattr(settlement, "item_paid"):  # annotated by ``with_item_paid``
            paid = settlement.item_paid or ZERO
        else:
            paid = paid_by_item(settlement.deal).get(settlement.schedule_item_id, ZERO)
        if paid >= settlement.amount:
            return SettlementStatus.SETTLED
    return settlement.status


STATUS_COLORS = {
    SettlementStatus.COMPUTED: "secondary",
    SettlementStatus.NOTIFIED: "info",
    SettlementStatus.SCHEDULED: "primary",
    SettlementStatus.REFUND: "warning",
    SettlementStatus.REFUNDED: "success",
    SettlementStatus.CANCELLED: "dark",
    SettlementStatus.SETTLED: "success",
}


class SettlementFilterSet(django_filters.FilterSet):
    """One filter set for the settlements page and ``/api/v1/settlements/``: band,
    status, rule, building, and a search by deal number, unit or buyer."""

    q = django_filters.CharFilter(label=gettext_lazy("单号 / 房号 / 客户"), method="search")
    band = django_filters.ChoiceFilter(
        label=gettext_lazy("误差区间"), choices=BAND_CHOICES, method="filter_band"
    )
    status = django_filters.ChoiceFilter(
        label=gettext_lazy("状态"), choices=SettlementStatus.choices
    )
    rule = django_filters.ChoiceFilter(
        label=gettext_lazy("补差规则"), choices=SettlementRule.choices
    )
    building = django_filters.ModelChoiceFilter(
        label=gettext_lazy("楼栋"),
        field_name="deal__unit__building",
        queryset=Building.objects.none(),
    )

    class Meta:
        model = Settlement
        fields = ["q", "band", "status", "rule", "building"]

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        if project is not None:
            buildings = Building.objects.filter(project=project)
        elif self.request is not None:
            buildings = Building.objects.filter(
                project__in=Project.objects.restrict(self.request.user, "view")
            )
        else:
            buildings = Building.objects.none()
        self.filters["building"].queryset = buildings.order_by("name")

    def search(self, queryset, name, value):
        text = (value or "").strip()
        if not text:
            return queryset
        return queryset.filter(deal_search_q(text))

    def filter_band(self, queryset, name, value):
        return queryset.filter(BAND_Q[value]) if value in BAND_Q else queryset


def awaiting_settlement(user, project):
    """Contracted deals the user sees with no settlement yet, with whether their unit
    has measured areas (the page's 待核算 list)."""
    return (
        rules.deals_for(user, project)
        .filter(status=DealStatus.CONTRACTED, settlement__isnull=True)
        .annotate(has_measured=Exists(MeasuredArea.objects.filter(unit_id=OuterRef("unit_id"))))
        .select_related("unit__building", "customer", "consultant")
        .order_by("unit__number", "pk")
    )


def may_export(user, project) -> bool:
    """Lists leave as a file only for those who see the project's after sales."""
    return rules.may_see_all(user, project)


def _name(user) -> str:
    return (user.real_name or user.username) if user else ""


def _d(value) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


_c = xlsx.col

SETTLEMENT_COLUMNS = [
    _c("deal", "认购书编号", width=16),
    _c("contract", "合同编号", width=16),
    _c("unit", "房间", width=14),
    _c("customer", "客户", width=10),
    _c("basis", "计价方式", width=12),
    _c("contract_area", "合同面积（㎡）", "area", width=12),
    _c("measured_area", "实测面积（㎡）", "area", width=12),
    _c("unit_price", "合同单价（元/㎡）", "money", width=14),
    _c("error_ratio", "面积误差比（%）", "area", width=12),
    _c("amount", "补差金额（元）", "money", width=14),
    _c("developer_bears", "开发商承担（元）", "money", width=14),
    _c("may_cancel", "可退房", width=8),
    _c("rule", "补差规则", width=20),
    _c("status", "状态", width=12),
    _c("notified_at", "通知时间", "datetime", width=16),
]


def settlement_row(s) -> list:
    return [
        s.deal.number,
        s.deal.contract_number,
        s.deal.unit.number,
        s.deal.customer.name,
        str(PricingBasis(s.basis).label) if s.basis in PricingBasis.values else s.basis,
        s.contract_area,
        s.measured_area,
        s.unit_price,
        s.error_ratio,
        s.amount,
        s.developer_bears,
        xlsx.YES if s.buyer_may_cancel else xlsx.NO,
        s.get_rule_display(),
        str(SettlementStatus(status_now(s)).label),
        s.notified_at,
    ]


def settlements_export(*, actor, project, queryset, filters: dict) -> bytes:
    """The settlements 面积补差表 as xlsx, audited as an export with its filters."""
    if not may_export(actor, project):
        raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有导出面积补差表的权限"))
    # it names the owners: with the manager's consent where the project wants it
    customer_exports.require_consent(project)
    content, _count = xlsx.export_audited(
        actor=actor,
        project=project,
        what="aftersales.settlement",
        sheet="面积补差表",
        columns=SETTLEMENT_COLUMNS,
        rows=(settlement_row(s) for s in with_item_paid(queryset).iterator(chunk_size=500)),
        filters=filters,
    )
    return content


def with_item_paid(queryset):
    """Annotate what the ledger holds against each settlement's schedule item (one
    subquery, so a list reads its 已结清 without a query per row)."""
    paid = per_row(
        LedgerEntry.objects.filter(item_id=OuterRef("schedule_item_id")), "item_id", Sum("amount")
    )
    return queryset.annotate(item_paid=paid)


# --- certificates 权证 -----------------------------------------------------------------------------

# What the registry asks for a transfer registration 转移登记 (seed 001 权证办理); a
# loan adds the mortgage contract for the 抵押登记.
CERTIFICATE_DOCUMENTS = (
    "买受人身份证明",
    "商品房买卖合同（备案）",
    "购房发票",
    "契税完税凭证",
    "专项维修资金缴存凭证",
    "房屋测绘报告",
)
MORTGAGE_DOCUMENT = "借款抵押合同"

TRANSITIONS: dict[str, tuple[str, ...]] = {
    Stage.FILING: (Stage.TRANSFER,),
    Stage.TRANSFER: (Stage.ISSUED,),
    Stage.ISSUED: (Stage.HANDED,),
    Stage.HANDED: (),
}
STAGE_COLORS = {
    Stage.FILING: "secondary",
    Stage.TRANSFER: "info",
    Stage.ISSUED: "primary",
    Stage.HANDED: "success",
}
# Days in a stage after which the service staff is reminded (the registry's usual
# rhythm: filing a month, a transfer a month, an issued certificate two weeks to hand).
REMIND_AFTER = {Stage.FILING: 30, Stage.TRANSFER: 30, Stage.ISSUED: 14}
LOAN_METHODS = (PaymentMethod.COMMERCIAL, PaymentMethod.PROVIDENT, PaymentMethod.COMBINED)


def mortgage_needed(deal) -> bool:
    """A loan exists: the deal is paid by a loan, has loan items in its schedule, or a
    mortgage file."""
    return (
        deal.payment_method in LOAN_METHODS
        or ScheduleItem.objects.filter(deal_id=deal.pk, live=True, kind__in=LOAN_KINDS).exists()
        or Mortgage.objects.filter(deal_id=deal.pk).exists()
    )


def certificate_documents(mortgage: bool) -> list[dict]:
    names = list(CERTIFICATE_DOCUMENTS) + ([MORTGAGE_DOCUMENT] if mortgage else [])
    return checklist.new(names)


def can_open_certificate(user, deal) -> rules.Answer:
    for answer in (can_manage(user, deal), rules.contracted(deal)):
        if not answer[0]:
            return answer
    if Certificate.objects.filter(deal_id=deal.pk).exists():
        return False, conflict(
            _("该交易已有权证档案。"), "deal", SettlementError.CERTIFICATE_EXISTS
        )
    return rules.YES


def can_change_certificate(user, cert) -> rules.Answer:
    answer = can_manage(user, cert.deal)
    if not answer[0]:
        return answer
    if cert.stage == Stage.HANDED:
        return False, conflict(
            _("权证已交业主，办理已完成。"), "stage", AftersalesError.STAGE_TRANSITION
        )
    return rules.YES


def certificate_abilities(user, cert) -> dict:
    change = can_change_certificate(user, cert)[0]
    return {
        "change": change,
        "move": change and bool(TRANSITIONS[cert.stage]),
        "mortgage": change
        and cert.mortgage_needed
        and cert.stage in (Stage.TRANSFER, Stage.ISSUED),
    }


def _lock_cert(cert) -> Certificate:
    return (
        Certificate.objects.select_for_update(of=("self",))
        .select_related("deal", "deal__project", "deal__unit")
        .get(pk=cert.pk)
    )


def certificate_open(*, actor, deal: Deal, on=None, note: str = "") -> Certificate:
    """Open a contracted deal's certificate file 权证 at 合同登记备案 (seed 001 权证办理),
    once, with the registry's documents checklist; ``mortgage_needed`` when a loan
    exists (the mortgage registration 抵押登记 then comes before the handover)."""
    rules.ensure(can_manage(actor, deal))
    note = _text(note, "note", 300)
    day = _day(on)
    with transaction.atomic():
        deal = (
            Deal.objects.select_for_update(of=("self",))
            .select_related("project", "unit")
            .get(pk=deal.pk)
        )
        rules.ensure(can_open_certificate(actor, deal))
        needed = mortgage_needed(deal)
        at = _moment(day)
        try:
            with transaction.atomic():
                cert = Certificate.objects.create(
                    project_id=deal.project_id,
                    deal=deal,
                    stage=Stage.FILING,
                    stage_since=at,
                    filed_on=day,
                    documents=certificate_documents(needed),
                    mortgage_needed=needed,
                    note=note,
                )
        except IntegrityError as exc:
            raise conflict(
                _("该交易已有权证档案。"), "deal", SettlementError.CERTIFICATE_EXISTS
            ) from exc
        CertificateEvent.objects.create(
            certificate=cert,
            from_stage="",
            to_stage=Stage.FILING,
            note=note or _("建档"),
            by=actor,
            at=at,
        )
        audit_create(actor=actor, obj=cert, extra={"deal": deal.number})
    return cert


def missing_documents(cert) -> list[str]:
    return checklist.missing(cert.documents)


def certificate_check_document(
    *, actor, certificate: Certificate, name: str, done: bool
) -> Certificate:
    """Tick (or untick) a document of the checklist as received, with the day."""
    name = (name or "").strip()
    with transaction.atomic():
        cert = _lock_cert(certificate)
        rules.ensure(can_change_certificate(actor, cert))
        documents = checklist.tick(cert.documents, name, done)
        if documents is None:
            return cert
        before = snapshot(cert)
        cert.documents = documents
        cert.save(update_fields=["documents"])
        audit_update(actor=actor, obj=cert, before=before, extra={"document": name, "done": done})
    return cert


def certificate_register_mortgage(*, actor, certificate: Certificate, on=None) -> Certificate:
    """Record the mortgage registration 抵押登记 (after the transfer is submitted)."""
    day = _day(on)
    with transaction.atomic():
        cert = _lock_cert(certificate)
        rules.ensure(can_change_certificate(actor, cert))
        if not cert.mortgage_needed:
            raise conflict(
                _("该交易没有贷款，无需抵押登记。"), "mortgage", AftersalesError.STAGE_TRANSITION
            )
        if cert.stage not in (Stage.TRANSFER, Stage.ISSUED):
            raise conflict(
                _("转移登记递交后才能办理抵押登记。"), "stage", AftersalesError.STAGE_TRANSITION
            )
        before = snapshot(cert)
        cert.mortgage_registered_on = day
        cert.save(update_fields=["mortgage_registered_on"])
        CertificateEvent.objects.create(
            certificate=cert,
            from_stage=cert.stage,
            to_stage=cert.stage,
            note=_("抵押登记已办理（%(d)s）") % {"d": f"{day:%Y-%m-%d}"},
            by=actor,
            at=_moment(day),
        )
        audit_update(actor=actor, obj=cert, before=before)
    return cert


def certificate_move(
    *,
    actor,
    certificate: Certificate,
    to_stage: str,
    on=None,
    certificate_number: str = "",
    note: str = "",
) -> Certificate:
    """Move the certificate along 合同登记备案 → 转移登记已递交 (every document in) →
    不动产权证已出证 (with the certificate number) → 已交业主 (the mortgage registration
    recorded first where a loan exists); one event each. ``on``: the day it happened
    (today by default; not before the current stage began, not in the future)."""
    note = _text(note, "note", 300)
    with transaction.atomic():
        cert = _lock_cert(certificate)
        rules.ensure(can_change_certificate(actor, cert))
        if to_stage not in Stage.values:
            raise invalid("to_stage", _("请选择新阶段"))
        current, target = Stage(cert.stage), Stage(to_stage)
        if target not in TRANSITIONS[current]:
            raise conflict(
                _("权证当前为「%(a)s」，不能转为「%(b)s」。")
                % {"a": current.label, "b": target.label},
                "to_stage",
                AftersalesError.STAGE_TRANSITION,
            )
        day = _day(on)
        since = timezone.localdate(cert.stage_since)
        if day < since:
            raise invalid(
                "on",
                _("日期不能早于进入「%(a)s」的日期 %(d)s")
                % {"a": current.label, "d": f"{since:%Y-%m-%d}"},
            )
        before = snapshot(cert)
        if target == Stage.TRANSFER:
            missing = missing_documents(cert)
            if missing:
                raise conflict(
                    _("办证资料未收齐：%(m)s") % {"m": "、".join(missing)},
                    "documents",
                    SettlementError.DOCUMENTS_MISSING,
                )
            cert.submitted_on = day
        elif target == Stage.ISSUED:
            number = _text(certificate_number, "certificate_number", 60)
            if not number:
                raise invalid(
                    "certificate_number",
                    _("请填写不动产权证号"),
                    code=SettlementError.CERTIFICATE_NUMBER_REQUIRED,
                )
            cert.issued_on, cert.certificate_number = day, number
        elif target == Stage.HANDED:
            if cert.mortgage_needed and cert.mortgage_registered_on is None:
                raise conflict(
                    _("该交易有贷款，抵押登记办理完毕后才能把权证交给业主。"),
                    "mortgage_registered_on",
                    SettlementError.MORTGAGE_NOT_REGISTERED,
                )
            cert.handed_on = day
        at = max(_moment(day), cert.stage_since)
        cert.stage, cert.stage_since = target, at
        cert.save()
        CertificateEvent.objects.create(
            certificate=cert, from_stage=current, to_stage=target, note=note, by=actor, at=at
        )
        audit_update(actor=actor, obj=cert, before=before, extra={"note": note} if note else None)
    return cert


# --- certificates: selectors ---------------------------------------------------------------------


def certificates_of(user, project):
    return (
        Certificate.objects.restrict(user, "view")
        .filter(project=project)
        .select_related("deal__unit", "deal__customer", "deal__consultant")
    )


def days_in_stage(cert, today: datetime.date | None = None) -> int:
    """Whole days since the certificate entered its stage, as of ``today`` (computed,
    never stored)."""
    today = today or timezone.localdate()
    return max((today - timezone.localdate(cert.stage_since)).days, 0)


def overdue(cert, today=None) -> bool:
    limit = REMIND_AFTER.get(cert.stage)
    return limit is not None and days_in_stage(cert, today) > limit


def _cutoff(days: int):
    start = timezone.localdate() - datetime.timedelta(days=int(days))
    return timezone.make_aware(datetime.datetime.combine(start, datetime.time()))


def certificate_reminders(user, project) -> list[tuple[Certificate, int]]:
    """The service staff's home-page reminders: certificates the user sees that have
    stayed longer than ``REMIND_AFTER`` days in their stage, the longest first, as
    (certificate, days in stage). Reads only."""
    if not rules.may_see_all(user, project) and not access.has_perm(
        user, "aftersales.manage", project
    ):
        return []
    q = Q()
    for stage, limit in REMIND_AFTER.items():
        q |= Q(stage=stage, stage_since__lt=_cutoff(limit))
    today = timezone.localdate()
    rows = certificates_of(user, project).filter(q).order_by("stage_since", "pk")
    return [(c, days_in_stage(c, today)) for c in rows]


def stage_counts(queryset) -> list[tuple[str, str, int]]:
    counts = dict(queryset.order_by().values_list("stage").annotate(n=Count("pk")))
    return [(s.value, s.label, counts.get(s.value, 0)) for s in Stage]


def awaiting_certificate(user, project):
    """Contracted deals the user sees with no certificate file yet."""
    return (
        rules.deals_for(user, project)
        .filter(status=DealStatus.CONTRACTED, certificate__isnull=True)
        .select_related("unit", "customer", "consultant")
        .order_by("signed_on", "pk")
    )


class CertificateFilterSet(django_filters.FilterSet):
    """One filter set for the certificates page and ``/api/v1/certificates/``: stage,
    outstanding (not yet handed), at least N days in the stage, a search."""

    q = django_filters.CharFilter(label=gettext_lazy("单号 / 房号 / 客户"), method="search")
    stage = django_filters.ChoiceFilter(label=gettext_lazy("办理阶段"), choices=Stage.choices)
    outstanding = django_filters.BooleanFilter(
        label=gettext_lazy("仅未办结"), method="filter_outstanding"
    )
    min_days = django_filters.NumberFilter(
        label=gettext_lazy("本阶段停留≥天"), method="filter_min_days", min_value=0, max_value=36500
    )

    class Meta:
        model = Certificate
        fields = ["q", "stage", "outstanding", "min_days"]

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)

    search = SettlementFilterSet.search

    def filter_outstanding(self, queryset, name, value):
        if value is None:
            return queryset
        return (
            queryset.exclude(stage=Stage.HANDED) if value else queryset.filter(stage=Stage.HANDED)
        )

    def filter_min_days(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(stage_since__lt=_cutoff(int(value) - 1))


CERTIFICATE_COLUMNS = [
    _c("deal", "认购书编号", width=16),
    _c("contract", "合同编号", width=16),
    _c("unit", "房间", width=14),
    _c("customer", "客户", width=10),
    _c("stage", "办理阶段", width=14),
    _c("days", "本阶段天数", "integer", width=10),
    _c("documents", "资料", width=8),
    _c("mortgage", "抵押登记", width=12),
    _c("filed_on", "备案日期"),
    _c("submitted_on", "转移登记递交"),
    _c("issued_on", "出证日期"),
    _c("certificate_number", "不动产权证号", width=20),
    _c("handed_on", "交付业主日期"),
    _c("note", "备注", width=24),
]


def certificate_row(c, today) -> list:
    done = sum(1 for d in c.documents if d.get("done"))
    if not c.mortgage_needed:
        mortgage = "无需"
    else:
        mortgage = _d(c.mortgage_registered_on) or "未办理"
    return [
        c.deal.number,
        c.deal.contract_number,
        c.deal.unit.number,
        c.deal.customer.name,
        c.get_stage_display(),
        days_in_stage(c, today),
        f"{done}/{len(c.documents)}",
        mortgage,
        _d(c.filed_on),
        _d(c.submitted_on),
        _d(c.issued_on),
        c.certificate_number,
        _d(c.handed_on),
        c.note,
    ]


def certificates_export(*, actor, project, queryset, filters: dict) -> bytes:
    if not may_export(actor, project):
        raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有导出权证进度表的权限"))
    # it names the owners: with the manager's consent where the project wants it
    customer_exports.require_consent(project)
    today = timezone.localdate()
    content, _count = xlsx.export_audited(
        actor=actor,
        project=project,
        what="aftersales.certificate",
        sheet="权证进度表",
        columns=CERTIFICATE_COLUMNS,
        rows=(certificate_row(c, today) for c in queryset.iterator(chunk_size=500)),
        filters=filters,
    )
    return content


__all__ = [
    "MEASURED",
    "Band",
    "SettleResult",
    "SettlementError",
    "calculate",
    "certificate_check_document",
    "certificate_move",
    "certificate_open",
    "certificate_register_mortgage",
    "certificate_reminders",
    "measured_import",
    "read_measured",
    "settle",
    "settle_basis",
    "settlement_compute",
    "settlement_compute_building",
    "settlement_notify",
    "settlement_refund_paid",
]
