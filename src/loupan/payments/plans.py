"""The purchase plan 置业计划 and the payment settings it reads (issue 13 "Mortgages 按揭":
"the purchase plan a consultant prints for a customer from the calculator and a unit:
price, discounts, down payment, loan, monthly payment, and estimated deed tax 契税 and
maintenance fund 维修资金 from per-project rate tables the office edits (first/second
home, area bands), never hard-coded"; "the minimum down-payment ratio is a project
setting (national default 15%, first and second home)").

Writes (services, ``payment.configure``, one audited transaction each):

* ``payment_settings_save``: the project's ``PaymentSettings`` (minimum down payment,
  due days, late fee);
* ``fee_rate_save`` / ``fee_rate_delete``: the rows of the fee tables (``FeeRate``).

Reads (pure, nothing written): ``purchase_plan`` computes one plan.

Area bands. The rule the tables carry reads "140㎡ 及以下 1%，140㎡ 以上 1.5%" (契税法;
财政部 税务总局 住建部公告 2024 年第 16 号), so a band is looked up as **above ``area_min``,
up to and including ``area_max``** (``area_min < area ≤ area_max``; no ``area_max``: no
upper bound): the office types the bounds of the rule as written (0–140, 140–), and a
home of exactly 140.00㎡ falls in the first band. (``FeeRate``'s docstring still says
"area_min inclusive, area_max exclusive"; the two readings differ only at a bound.)
The area is the unit's 建筑面积 (gross area), the area of the ownership certificate, by
which both the deed-tax bands and the maintenance fund (《住宅专项维修资金管理办法》第七条:
"按照所拥有物业的建筑面积交存") are reckoned, whatever the unit is priced by. A row for
the exact home (首套 / 二套) wins over a row for any home (不限).
"""

from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loupan.accounts import access
from loupan.audit.services import audit_create, audit_delete, audit_update
from loupan.core.errors import DomainError, invalid
from loupan.core.money import FEN, ZERO, money, rmb_upper, to_decimal
from loupan.core.snapshot import snapshot
from loupan.deals.models import DiscountType, PaymentMethod
from loupan.deals.pricing import Quote
from loupan.deals.services import price_units
from loupan.inventory.models import Project, Unit, UnitStatus

from . import calculator
from .errors import PaymentError
from .models import FeeBasis, FeeKind, FeeRate, HomeOrder, PaymentSettings
from .schedule import settings_of

HUNDRED = Decimal("100")
MAX_LATE_FEE_PCT = Decimal("1")  # %/day; the model's check constraint says the same
MAX_DAYS = {"down_payment_days": 365, "full_payment_days": 365, "loan_days": 730}
MAX_GRACE_DAYS = 365
MAX_PER_SQM = Decimal("100000")  # yuan/㎡: far above any fee, below the column's limit
MAX_AREA = Decimal("99999999.99")

SETTINGS_LABELS = {
    "min_down_pct_first": _("首套最低首付比例"),
    "min_down_pct_second": _("二套最低首付比例"),
    "down_payment_days": _("首付款期限"),
    "full_payment_days": _("一次性付款期限"),
    "loan_days": _("贷款预计到账天数"),
    "late_fee_daily_pct": _("滞纳金日费率"),
    "late_fee_grace_days": _("滞纳金宽限天数"),
}


# --- parsing helpers ----------------------------------------------------------------------


def _decimal(field: str, value, label, *, places: int) -> Decimal:
    """A finite Decimal with at most ``places`` decimals from text, int or Decimal (a
    float, text that is no number, or more decimals are refused on ``field``)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise invalid(field, f"请填写{label}")
    if isinstance(value, float | bool):
        raise invalid(field, f"{label}须以字符串提交（如“15”），不接受浮点数")
    try:
        number = to_decimal(value)
    except (TypeError, ValueError) as exc:
        raise invalid(field, f"{label}必须是数字") from exc
    if not number.is_finite():
        raise invalid(field, f"{label}必须是数字")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise invalid(field, f"{label}最多 {places} 位小数")
    return number.quantize(Decimal(1).scaleb(-places))


def _int(field: str, value, label, low: int, high: int) -> int:
    if isinstance(value, float | bool):
        raise invalid(field, f"{label}必须是整数")
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise invalid(field, f"{label}必须是整数") from exc
    if not low <= number <= high:
        raise invalid(field, f"{label}须在 {low} 到 {high} 之间")
    return number


def number_text(value) -> str:
    """A percentage or rate without trailing zeros and never in exponent form (15.00 →
    "15", 0.0500 → "0.05", 100.0000 → "100")."""
    return f"{to_decimal(value).normalize():f}"


def rate_text(row: FeeRate) -> str:
    """A fee row's rate as the office reads it: "1.5%", "100 元/㎡"."""
    if row.basis == FeeBasis.PERCENT:
        return f"{number_text(row.rate)}%"
    return gettext("%(rate)s 元/㎡") % {"rate": number_text(row.rate)}


# --- settings -----------------------------------------------------------------------------


def _settings_value(name: str, value):
    label = SETTINGS_LABELS[name]
    if name in ("min_down_pct_first", "min_down_pct_second"):
        pct = _decimal(name, value, label, places=2)
        if not 0 <= pct <= HUNDRED:
            raise invalid(name, f"{label}须在 0 到 100% 之间")
        return pct
    if name == "late_fee_daily_pct":
        rate = _decimal(name, value, label, places=4)
        if not 0 <= rate <= MAX_LATE_FEE_PCT:
            raise invalid(name, f"{label}须在 0 到 1%/日 之间（0 表示不收滞纳金）")
        return rate
    if name == "late_fee_grace_days":
        return _int(name, value, label, 0, MAX_GRACE_DAYS)
    return _int(name, value, label, 0, MAX_DAYS[name])


def payment_settings_save(*, actor, project, **fields) -> PaymentSettings:
    """Save the project's payment settings 收款设置 (sales manager or director,
    ``payment.configure``): the minimum down payment for a first and a second home
    (0–100%, national default 15%), the days to the down payment, the full payment and
    the loan (0 or more), and the late fee (0–1% of the overdue amount a day, 0 = off;
    grace days 0 or more). Only the fields given change; each refusal names its field.
    One transaction, one audit entry (created or the changed fields)."""
    access.require_perm(actor, "payment.configure", project)
    unknown = sorted(set(fields) - set(SETTINGS_LABELS))
    if unknown:
        raise invalid(unknown[0], "未知的设置项")
    clean = {name: _settings_value(name, value) for name, value in fields.items()}
    with transaction.atomic():
        row, created = PaymentSettings.objects.select_for_update().get_or_create(
            project_id=project.pk
        )
        before = snapshot(row)
        for name, value in clean.items():
            setattr(row, name, value)
        row.save()
        if created:
            audit_create(actor=actor, obj=row)
        else:
            audit_update(actor=actor, obj=row, before=before)
    return row


# --- fee tables ---------------------------------------------------------------------------


def _fee_data(data: dict) -> dict:
    kind = data.get("kind") or ""
    if kind not in FeeKind.values:
        raise invalid("kind", "请选择费用（契税或维修资金）")
    home = data.get("home") or ""
    if home not in HomeOrder.values:
        raise invalid("home", "请选择套数（首套、二套或不限）")
    basis = data.get("basis") or ""
    if basis not in FeeBasis.values:
        raise invalid("basis", "请选择计费方式")
    raw_min = data.get("area_min")
    area_min = (
        ZERO if raw_min in (None, "") else _decimal("area_min", raw_min, "面积下限", places=2)
    )
    if not 0 <= area_min <= MAX_AREA:
        raise invalid("area_min", "面积下限不能为负数")
    raw_max = data.get("area_max")
    area_max = None
    if raw_max not in (None, ""):
        area_max = _decimal("area_max", raw_max, "面积上限", places=2)
        if area_max > MAX_AREA:
            raise invalid("area_max", "面积上限过大")
        if area_max <= area_min:
            raise invalid("area_max", "面积上限须大于面积下限（不设上限请留空）")
    rate = _decimal("rate", data.get("rate"), "费率", places=4)
    if rate < 0:
        raise invalid("rate", "费率不能为负数")
    if basis == FeeBasis.PERCENT and rate > HUNDRED:
        raise invalid("rate", "按成交总价计的费率不能超过 100%")
    if basis == FeeBasis.PER_SQM and rate > MAX_PER_SQM:
        raise invalid("rate", "按面积计的费率不能超过 100000 元/㎡")
    return {
        "kind": kind,
        "home": home,
        "basis": basis,
        "area_min": area_min,
        "area_max": area_max,
        "rate": rate,
    }


def _overlaps(a_min, a_max, b_min, b_max) -> bool:
    """Two bands (min, max] overlap when each starts below the other's end (no end:
    unbounded)."""
    return (b_max is None or a_min < b_max) and (a_max is None or b_min < a_max)


def band_text(row: FeeRate) -> str:
    """A band as the office reads it: "140.00㎡ 以上", "0.00–140.00㎡（含）"."""
    if row.area_max is None:
        return gettext("%(low)s㎡ 以上") % {"low": row.area_min}
    return gettext("%(low)s–%(high)s㎡（含）") % {"low": row.area_min, "high": row.area_max}


def fee_rate_save(*, actor, project, data: dict, fee_rate: FeeRate | None = None) -> FeeRate:
    """Add a row to the project's fee table (or change ``fee_rate``): deed tax 契税 or
    the maintenance fund 维修资金, for a first, second or any home, over an area band
    (above ``area_min``, up to and including ``area_max``; empty: no upper bound), as a
    percentage of the price (0–100) or yuan per ㎡ (0 or more). The bands of one fee and
    one home may not overlap, so that a plan finds one row at most; the project row is
    locked while the table is checked, so two editors cannot both slip a band in.
    ``payment.configure``; one audited transaction."""
    access.require_perm(actor, "payment.configure", project)
    if fee_rate is not None and fee_rate.project_id != project.pk:
        raise invalid("project", "该税费标准不属于本项目")
    clean = _fee_data(data)
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()
        others = FeeRate.objects.filter(project=project, kind=clean["kind"], home=clean["home"])
        if fee_rate is not None:
            others = others.exclude(pk=fee_rate.pk)
        for other in others.order_by("area_min", "pk"):
            if _overlaps(clean["area_min"], clean["area_max"], other.area_min, other.area_max):
                raise invalid(
                    "area_min",
                    f"面积区间与已有的「{other.get_kind_display()} {other.get_home_display()} "
                    f"{band_text(other)}」重叠",
                )
        if fee_rate is None:
            row = FeeRate.objects.create(project=project, **clean)
            audit_create(actor=actor, obj=row)
            return row
        row = FeeRate.objects.select_for_update().get(pk=fee_rate.pk)
        before = snapshot(row)
        for name, value in clean.items():
            setattr(row, name, value)
        row.save()
        audit_update(actor=actor, obj=row, before=before)
    return row


def fee_rate_delete(*, actor, fee_rate: FeeRate) -> None:
    """Remove a row of the fee table (plans computed later show that fee as 未设置 until
    a row covers it again). ``payment.configure``; audited."""
    access.require_perm(actor, "payment.configure", fee_rate.project_id)
    with transaction.atomic():
        row = FeeRate.objects.select_for_update().filter(pk=fee_rate.pk).first()
        if row is None:
            return
        before, pk = snapshot(row), row.pk
        row.delete()
        audit_delete(actor=actor, obj=row, before=before, object_id=pk)


def fee_table(project) -> list[FeeRate]:
    """The project's fee table, by fee, home and band."""
    return list(FeeRate.objects.filter(project=project).order_by("kind", "home", "area_min", "pk"))


def fee_row(rows, *, kind: str, home: str, area: Decimal) -> FeeRate | None:
    """The row of ``rows`` (one project's table) for this fee, home and area: the exact
    home's band first, else a band for any home (see the module docstring)."""
    for wanted in (home, HomeOrder.ANY):
        for row in rows:
            if (
                row.kind == kind
                and row.home == wanted
                and row.area_min < area
                and (row.area_max is None or area <= row.area_max)
            ):
                return row
    return None


# --- the plan -----------------------------------------------------------------------------

PLAN_METHODS = (
    PaymentMethod.ONE_OFF,
    PaymentMethod.COMMERCIAL,
    PaymentMethod.PROVIDENT,
    PaymentMethod.COMBINED,
)
LOAN_METHODS = (PaymentMethod.COMMERCIAL, PaymentMethod.PROVIDENT, PaymentMethod.COMBINED)
# Statuses a plan can still be made for: on sale, or held / reserved for a customer.
PLAN_STATUSES = (UnitStatus.AVAILABLE, UnitStatus.HELD, UnitStatus.RESERVED)
# calculator error paths → the plan's fields
_CALCULATOR_FIELDS = {
    "years": "years",
    "commercial.annual_rate": "commercial_rate",
    "provident.annual_rate": "provident_rate",
    "commercial.principal": "down_payment",
    "provident.principal": "provident_amount",
    "commercial": "down_payment",
}


@dataclass(frozen=True)
class FeeLine:
    """One estimated fee: ``amount`` None when no row of the table covers the unit
    (shown as 未设置, never as 0)."""

    kind: str
    row: FeeRate | None
    amount: Decimal | None

    @property
    def label(self) -> str:
        return str(FeeKind(self.kind).label)

    @property
    def is_set(self) -> bool:
        return self.amount is not None

    @property
    def basis_text(self) -> str:
        return str(_("未设置")) if self.row is None else rate_text(self.row)


@dataclass(frozen=True)
class PurchasePlan:
    """One 置业计划: the price as a subscription would give it, the down payment and
    the loan, the monthly payment by both methods, the estimated fees and the cash the
    buyer needs at signing."""

    project: Project
    unit: Unit
    home: str
    method: str
    area: Decimal
    quote: Quote
    discounts: list = field(default_factory=list)
    min_down_pct: Decimal = ZERO
    min_down_payment: Decimal = ZERO
    down_payment: Decimal = ZERO
    commercial_loan: Decimal = ZERO
    provident_loan: Decimal = ZERO
    years: int | None = None
    commercial_rate: Decimal | None = None
    provident_rate: Decimal | None = None
    equal_installment: calculator.Repayment | None = None
    equal_principal: calculator.Repayment | None = None
    deed_tax: FeeLine | None = None
    maintenance: FeeLine | None = None

    @property
    def list_price(self) -> Decimal:
        return self.quote.list_total

    @property
    def price(self) -> Decimal:
        return self.quote.total

    @property
    def price_upper(self) -> str:
        return rmb_upper(self.price)

    @property
    def discount_amount(self) -> Decimal:
        return self.quote.discount_amount

    @property
    def loan(self) -> Decimal:
        return self.commercial_loan + self.provident_loan

    @property
    def down_payment_pct(self) -> Decimal:
        """The down payment in % of the price (two decimals, for display)."""
        if not self.price:
            return ZERO
        return money(self.down_payment * HUNDRED / self.price)

    @property
    def fees(self) -> list[FeeLine]:
        return [self.deed_tax, self.maintenance]

    @property
    def fees_incomplete(self) -> bool:
        return any(not fee.is_set for fee in self.fees)

    @property
    def cash_needed(self) -> Decimal:
        """Down payment + deed tax + maintenance fund (the fees that are set)."""
        return self.down_payment + sum((f.amount for f in self.fees if f.is_set), ZERO)

    @property
    def cash_needed_upper(self) -> str:
        return rmb_upper(self.cash_needed)

    @property
    def discount_lines(self) -> list[tuple[str, str, Decimal]]:
        """``(name, "0.5%" or "", amount taken off)`` of each discount, in order."""
        return [
            (s.name, f"{number_text(s.value)}%" if s.kind == "percent" else "", s.amount)
            for s in self.quote.steps
        ]

    @property
    def commercial_rate_text(self) -> str:
        return number_text(self.commercial_rate) if self.commercial_rate is not None else ""

    @property
    def provident_rate_text(self) -> str:
        return number_text(self.provident_rate) if self.provident_rate is not None else ""

    @property
    def method_label(self) -> str:
        return str(PaymentMethod(self.method).label)

    @property
    def home_label(self) -> str:
        return str(HomeOrder(self.home).label)


def plan_units(user, project):
    """The units ``user`` may make a plan for: visible to them (``unit.view``), of this
    project, priced, sellable, and on sale or held / reserved for a customer (as of
    now); in the board's order. The floor price is never read from them."""
    return (
        Unit.objects.restrict(user, "view")
        .as_of_now()
        .filter(
            project=project,
            sellable=True,
            list_price__isnull=False,
            current_status__in=PLAN_STATUSES,
        )
        .select_related("building")
    )


def plan_discounts(project):
    """The discounts a plan may apply: the project's active, fixed discount types (a
    variable 特批 needs an approval, so a plan never assumes one), in their order."""
    return DiscountType.objects.filter(project=project, is_active=True, variable=False).order_by(
        "sort_order", "pk"
    )


def _discount_list(project, discounts) -> list[DiscountType]:
    """The chosen discount types (objects or ids), each once, in the order they apply
    (the order ``deals.services`` prices a subscription with)."""
    ids = []
    for item in discounts or ():
        pk = getattr(item, "pk", item)
        try:
            ids.append(int(pk))
        except (TypeError, ValueError) as exc:
            raise invalid("discounts", "折扣须以编号提交") from exc
    if len(set(ids)) != len(ids):
        raise invalid("discounts", "同一折扣只能使用一次")
    chosen = list(plan_discounts(project).filter(pk__in=ids))
    if len(chosen) != len(ids):
        raise invalid("discounts", "所选折扣不适用于本项目（已停用、特批或不存在）")
    return chosen


def _fee(rows, kind: str, home: str, area: Decimal, price: Decimal) -> FeeLine:
    row = fee_row(rows, kind=kind, home=home, area=area)
    if row is None:
        return FeeLine(kind, None, None)
    if row.basis == FeeBasis.PERCENT:
        amount = money(price * row.rate / HUNDRED)
    else:
        amount = money(area * row.rate)
    return FeeLine(kind, row, amount)


def _repayment(method: str, years, loans: dict) -> calculator.Repayment:
    try:
        return calculator.mortgage(method=method, years=years, **loans)
    except DomainError as exc:
        fields = {_CALCULATOR_FIELDS.get(k, k): v for k, v in exc.fields.items()}
        raise DomainError(exc.code, exc.message, fields) from exc


def purchase_plan(
    *,
    project,
    unit: Unit,
    discounts=(),
    method: str = PaymentMethod.COMMERCIAL,
    home: str = HomeOrder.FIRST,
    down_payment_pct=None,
    down_payment=None,
    years=30,
    commercial_rate=None,
    provident_rate=None,
    provident_amount=None,
) -> PurchasePlan:
    """Compute a 置业计划 for ``unit``; pure (reads the project's settings, discount
    types and fee table, writes nothing).

    * Price: the unit's list price with the chosen discounts applied in their order,
      each step rounded to the fen, through the deals quote (``price_units``) — what a
      subscription with those discounts would give.
    * ``method``: 一次性付款 (the whole price is the down payment, no loan), 商业贷款,
      公积金贷款 or 组合贷款 (``provident_amount`` of the loan from the provident fund,
      the rest commercial).
    * Down payment: ``down_payment`` (yuan) or ``down_payment_pct`` (% of the price,
      rounded up to the fen as the project minimum is); at least the project's minimum
      for a first or second home (``home``), at most the price, less than the price
      with a loan. Refused with ``down_payment_too_low`` on the field given.
    * Monthly payment by both methods (等额本息, 等额本金 first month), from the
      mortgage calculator over ``years`` at the annual rates (%).
    * Deed tax and maintenance fund from the fee table for ``home`` and the unit's
      gross area (percent of the price, or yuan per ㎡), each rounded to the fen; a fee
      no row covers is ``None`` (未设置)."""
    if unit.project_id != project.pk:
        raise invalid("unit", "该房间不属于本项目")
    if unit.list_price is None:
        raise invalid("unit", "该房间尚未定价")
    if home not in (HomeOrder.FIRST, HomeOrder.SECOND):
        raise invalid("home", "请选择首套或二套")
    if method not in PLAN_METHODS:
        raise invalid("method", "请选择一次性付款、商业贷款、公积金贷款或组合贷款")
    chosen = _discount_list(project, discounts)
    quote, _floor = price_units([unit], [(t.name, t.kind, t.value) for t in chosen])
    price = quote.total
    settings = settings_of(project)
    min_pct = (
        settings.min_down_pct_second if home == HomeOrder.SECOND else settings.min_down_pct_first
    )
    least = (price * min_pct / HUNDRED).quantize(FEN, rounding=ROUND_CEILING)
    area = unit.gross_area
    rows = fee_table(project)
    plan = {
        "project": project,
        "unit": unit,
        "home": str(home),
        "method": str(method),
        "area": area,
        "quote": quote,
        "discounts": chosen,
        "min_down_pct": min_pct,
        "min_down_payment": least,
        "deed_tax": _fee(rows, FeeKind.DEED_TAX, home, area, price),
        "maintenance": _fee(rows, FeeKind.MAINTENANCE, home, area, price),
    }
    if method == PaymentMethod.ONE_OFF:
        return PurchasePlan(**plan, down_payment=price)

    # the down payment, in yuan or in % of the price
    if down_payment not in (None, ""):
        down_field = "down_payment"
        amount = _decimal(down_field, down_payment, "首付款", places=2)
    else:
        down_field = "down_payment_pct"
        pct = _decimal(down_field, down_payment_pct, "首付比例", places=2)
        if not 0 <= pct <= HUNDRED:
            raise invalid(down_field, "首付比例须在 0 到 100% 之间")
        amount = (price * pct / HUNDRED).quantize(FEN, rounding=ROUND_CEILING)
    if amount < least:
        reason = (
            f"首付款不能低于成交总价的 {number_text(min_pct)}%"
            f"（{HomeOrder(home).label}，至少 {least:,} 元）"
        )
        raise invalid(down_field, reason, code=PaymentError.DOWN_PAYMENT_TOO_LOW)
    if amount >= price:
        raise invalid(down_field, "首付款已达成交总价，无需贷款，请选择一次性付款")
    loan = price - amount

    # the loan: commercial, provident, or both
    commercial_loan = provident_loan = ZERO
    if method == PaymentMethod.COMMERCIAL:
        commercial_loan = loan
    elif method == PaymentMethod.PROVIDENT:
        provident_loan = loan
    else:
        provident_loan = _decimal("provident_amount", provident_amount, "公积金贷款金额", places=2)
        if not 0 < provident_loan < loan:
            raise invalid(
                "provident_amount",
                f"组合贷款的公积金部分须大于 0 且小于贷款总额 {loan:,} 元",
            )
        commercial_loan = loan - provident_loan
    loans = {"commercial": None, "provident": None}
    if commercial_loan:
        if commercial_rate in (None, ""):
            raise invalid("commercial_rate", "请填写商业贷款年利率")
        loans["commercial"] = {"principal": commercial_loan, "annual_rate": commercial_rate}
    if provident_loan:
        if provident_rate in (None, ""):
            raise invalid("provident_rate", "请填写公积金贷款年利率")
        loans["provident"] = {"principal": provident_loan, "annual_rate": provident_rate}
    equal_installment = _repayment(calculator.Method.EQUAL_INSTALLMENT, years, loans)
    equal_principal = _repayment(calculator.Method.EQUAL_PRINCIPAL, years, loans)
    return PurchasePlan(
        **plan,
        down_payment=amount,
        commercial_loan=commercial_loan,
        provident_loan=provident_loan,
        years=equal_installment.years,
        commercial_rate=to_decimal(commercial_rate) if commercial_loan else None,
        provident_rate=to_decimal(provident_rate) if provident_loan else None,
        equal_installment=equal_installment,
        equal_principal=equal_principal,
    )
