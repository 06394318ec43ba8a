"""Mortgages 按揭 (issue 13 "Mortgages"; seed 001 九 按揭办理: 客户签约后按揭回款跟踪,
统计汇总按揭到帐款项, 与财务对帐; seed 003 按揭协办: 协助客户整理按揭所需材料, 对接银行,
跟进按揭审批进度).

* Services (writes, one transaction each with its audit entry): ``mortgage_open``,
  ``mortgage_update``, ``mortgage_check_document``, ``mortgage_move`` and
  ``mortgage_disburse`` (finance records the bank's money as ledger entries through
  ``services.payment_record``; the loan fully received moves the mortgage to 已放款).
* Predicates (``can_manage``, ``can_open``, ``can_disburse``): the deal's own consultant
  or anyone who sees the project's money, holding ``mortgage.manage``; only finance
  (``payment.record``) records a disbursement.
* Selectors (reads, restricted to what the user may see): the pipeline with the days in
  stage, its FilterSet (shared by the page and ``/api/v1/mortgages/``), the deals waiting
  for a mortgage, and the reconciliation per bank per month (expected versus received).
"""

import datetime
from decimal import Decimal

import django_filters
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loupan.accounts import access
from loupan.accounts.models import Membership
from loupan.audit.services import audit_create, audit_record, audit_update
from loupan.core import checklist, xlsx
from loupan.core.dates import PAST_OR_TODAY, parse_date
from loupan.core.errors import Code, DomainError, ErrorCode, conflict, invalid
from loupan.core.money import ZERO, money
from loupan.core.snapshot import snapshot
from loupan.customers import exports as customer_exports
from loupan.deals.filters import deal_search_q
from loupan.deals.models import Deal, PaymentMethod
from loupan.inventory.models import Project

from . import rules
from .errors import PaymentError
from .models import (
    LOAN_KINDS,
    LedgerEntry,
    LoanType,
    Method,
    Mortgage,
    MortgageEvent,
    MortgageStage,
    RejectionNext,
    ScheduleItem,
)
from .schedule import live_items, min_down_payment, paid_by_item
from .services import lock_project_money, payment_record

Stage = MortgageStage


class MortgageError(Code):
    """The mortgages' own error codes (rendered in the one error shape)."""

    MORTGAGE_EXISTS = "mortgage_exists", 409, gettext_lazy("该交易已有按揭档案")
    NOT_A_LOAN = "not_a_loan", 409, gettext_lazy("该交易的付款方式不是贷款")
    DEAL_NOT_PAYING = "deal_not_paying", 409, gettext_lazy("交易当前状态不能办理按揭")
    LOAN_TOO_HIGH = "loan_too_high", 400, gettext_lazy("贷款金额超过成交总价减最低首付")
    LOAN_TYPE_MISMATCH = "loan_type_mismatch", 400, gettext_lazy("贷款金额与贷款类型不符")
    DOCUMENTS_MISSING = "documents_missing", 409, gettext_lazy("按揭资料尚未收齐")
    STAGE_TRANSITION = "stage_transition", 409, gettext_lazy("按揭不能转到该阶段")
    REJECTION_NEXT_REQUIRED = "rejection_next_required", 400, gettext_lazy("请选择拒贷后处理")
    NOT_APPROVED = "not_approved", 409, gettext_lazy("银行审批通过后才能登记放款")
    MORTGAGE_LOCKED = "mortgage_locked", 409, gettext_lazy("按揭当前阶段不能修改")


# The checklist a bank asks for (seed 003 按揭协办: 协助客户整理按揭所需材料); a provident
# fund loan also needs the contribution certificate.
DEFAULT_DOCUMENTS = (
    "身份证",
    "户口本",
    "婚姻证明",
    "收入证明",
    "银行流水",
    "征信报告",
    "购房合同",
    "首付款收据",
)
PROVIDENT_DOCUMENT = "公积金缴存证明"

# Who may move a mortgage where by hand. 已放款 is reached only through a disbursement
# (the bank's money in the ledger), never by a click.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Stage.COLLECTING: (Stage.SUBMITTED,),
    Stage.SUBMITTED: (Stage.APPROVED, Stage.REJECTED),
    Stage.APPROVED: (Stage.DISBURSED,),
    Stage.REJECTED: (Stage.COLLECTING,),
    Stage.DISBURSED: (),
}
# The UI's colour of each stage.
STAGE_COLORS = {
    Stage.COLLECTING: "secondary",
    Stage.SUBMITTED: "info",
    Stage.APPROVED: "primary",
    Stage.DISBURSED: "success",
    Stage.REJECTED: "danger",
}
LOAN_METHODS = (PaymentMethod.COMMERCIAL, PaymentMethod.PROVIDENT, PaymentMethod.COMBINED)
HOMES = ("first", "second")
MAX_YEARS = 30
MAX_RATE = Decimal("24")
KEEP = object()  # mortgage_update: "leave this field as it is"


# --- predicates -----------------------------------------------------------------------------


may_see = rules.may_see


def can_manage(user, deal) -> rules.Answer:
    """Open, edit, tick the checklist, move between stages: ``mortgage.manage`` on a deal
    whose money the user sees (the deal's own consultant, or the office: supervisor,
    sales admin, finance, the leads)."""
    if not (access.has_perm(user, "mortgage.manage", deal.project_id) and may_see(user, deal)):
        return False, access.permission_error("mortgage.manage")
    return rules.YES


def _paying(deal) -> rules.Answer:
    if deal.status not in rules.PAYING:
        return False, conflict(
            _("交易当前为「%(s)s」，不能办理按揭。") % {"s": deal.get_status_display()},
            "deal",
            MortgageError.DEAL_NOT_PAYING,
        )
    return rules.YES


def can_open(user, deal) -> rules.Answer:
    """A mortgage is opened on a subscribed or contracted deal paid by a loan (商贷,
    公积金 or 组合贷), once."""
    for answer in (can_manage(user, deal), _paying(deal)):
        if not answer[0]:
            return answer
    if deal.payment_method not in LOAN_METHODS:
        return False, conflict(
            _("该交易的付款方式为「%(m)s」，不是贷款，无需办理按揭。")
            % {"m": deal.get_payment_method_display()},
            "deal",
            MortgageError.NOT_A_LOAN,
        )
    if Mortgage.objects.filter(deal_id=deal.pk).exists():
        return False, conflict(_("该交易已有按揭档案。"), "deal", MortgageError.MORTGAGE_EXISTS)
    return rules.YES


def can_change(user, mortgage) -> rules.Answer:
    """Edit, tick, move: a mortgage not yet disbursed, on a live deal."""
    for answer in (can_manage(user, mortgage.deal), _paying(mortgage.deal)):
        if not answer[0]:
            return answer
    if mortgage.stage == Stage.DISBURSED:
        return False, conflict(
            _("贷款已放款，按揭档案不能再修改。"), "stage", MortgageError.MORTGAGE_LOCKED
        )
    return rules.YES


def can_disburse(user, mortgage) -> rules.Answer:
    """Finance alone records money received (``payment.record``), and the bank pays only
    an approved loan."""
    answer = rules.can_record(user, mortgage.deal)
    if not answer[0]:
        return answer
    if mortgage.stage != Stage.APPROVED:
        return False, conflict(
            _("按揭当前为「%(s)s」，银行审批通过后才能登记放款。")
            % {"s": mortgage.get_stage_display()},
            "stage",
            MortgageError.NOT_APPROVED,
        )
    return rules.YES


def next_stages(mortgage) -> list[str]:
    """The stages a person may move the mortgage to (not 已放款: a disbursement does)."""
    return [s for s in TRANSITIONS[mortgage.stage] if s != Stage.DISBURSED]


def abilities(user, mortgage) -> dict:
    """Every mortgage action's answer for this user (the page and the API)."""
    change = can_change(user, mortgage)[0]
    return {
        "change": change,
        "move": change and bool(next_stages(mortgage)),
        "disburse": can_disburse(user, mortgage)[0],
    }


# --- parsing ---------------------------------------------------------------------------------


def _money_field(value, field) -> Decimal:
    if value in (None, ""):
        return ZERO
    try:
        amount = money(value)
    except (TypeError, ValueError) as exc:
        raise invalid(field, _("金额必须是数字（以字符串提交）")) from exc
    if not amount.is_finite():
        raise invalid(field, _("金额必须是数字"))
    if amount < 0:
        raise invalid(field, _("金额不能为负数"))
    if amount >= Decimal("1e12"):
        raise invalid(field, _("金额过大"))
    return amount


def _rate(value, field):
    if value in (None, ""):
        return None
    try:
        if isinstance(value, float):  # money and rates are never floats
            raise TypeError
        rate = Decimal(str(value).strip())
    except (TypeError, ValueError, ArithmeticError) as exc:
        raise invalid(field, _("利率必须是数字（以字符串提交，如“3.5”）")) from exc
    if not rate.is_finite() or rate <= 0 or rate > MAX_RATE:
        raise invalid(field, _("年利率须大于 0 且不超过 %(max)s%%") % {"max": MAX_RATE})
    if rate != rate.quantize(Decimal("0.001")):
        raise invalid(field, _("年利率最多三位小数"))
    return rate


def _years(value) -> int:
    try:
        if isinstance(value, float | bool):
            raise TypeError
        years = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise invalid("years", _("贷款年限必须是整数")) from exc
    if not 1 <= years <= MAX_YEARS:
        raise invalid("years", _("贷款年限须在 1 至 %(n)d 年之间") % {"n": MAX_YEARS})
    return years


def _text(value, field, limit, required_message=None) -> str:
    text = (value or "").strip()
    if required_message and not text:
        raise invalid(field, required_message)
    if len(text) > limit:
        raise invalid(field, _("最多 %(n)d 个字") % {"n": limit})
    return text


def follower_candidates(deal):
    """The colleagues who may follow the deal's mortgage (seed 003 按揭协办): members of
    its project holding ``mortgage.manage`` who see its money (``payment.view``, or the
    deal's own consultant)."""
    eligible = set()
    rows = Membership.objects.filter(
        project_id=deal.project_id, user__is_active=True, project__is_active=True
    ).values_list("user_id", "role__permissions")
    perms: dict[int, set] = {}
    for user_id, codes in rows:
        perms.setdefault(user_id, set()).update(codes or [])
    for user_id, codes in perms.items():
        if "mortgage.manage" in codes and (
            "payment.view" in codes
            or (user_id == deal.consultant_id and "payment.view_own" in codes)
        ):
            eligible.add(user_id)
    return get_user_model().objects.filter(pk__in=eligible).order_by("real_name", "username")


def _follower(deal, follower):
    """The follower (a user or a user id), who must be one of ``follower_candidates``."""
    if follower in (None, ""):
        return None
    pk = getattr(follower, "pk", follower)
    found = follower_candidates(deal).filter(pk=pk).first() if str(pk).isdigit() else None
    if found is None:
        raise invalid("follower", _("按揭专员须是本项目办理按揭、能查看该交易收款的同事"))
    return found


def _terms(
    *, bank, loan_type, commercial_amount, provident_amount, years, commercial_rate, provident_rate
) -> dict:
    """The loan's terms parsed and checked against each other: the amounts match the
    loan type (商贷: commercial only; 公积金: provident only; 组合贷: both), each loan has
    its rate."""
    bank = _text(bank, "bank", 50, _("请填写贷款银行"))
    if loan_type not in LoanType.values:
        raise invalid("loan_type", _("请选择贷款类型"))
    commercial = _money_field(commercial_amount, "commercial_amount")
    provident = _money_field(provident_amount, "provident_amount")
    years = _years(years)
    c_rate = _rate(commercial_rate, "commercial_rate")
    p_rate = _rate(provident_rate, "provident_rate")
    mismatch = MortgageError.LOAN_TYPE_MISMATCH
    if loan_type in (LoanType.COMMERCIAL, LoanType.COMBINED) and commercial <= 0:
        raise invalid("commercial_amount", _("请填写商贷金额"), code=mismatch)
    if loan_type in (LoanType.PROVIDENT, LoanType.COMBINED) and provident <= 0:
        raise invalid("provident_amount", _("请填写公积金贷款金额"), code=mismatch)
    if loan_type == LoanType.COMMERCIAL and provident != 0:
        raise invalid(
            "provident_amount", _("商业贷款不含公积金贷款；请改选组合贷款"), code=mismatch
        )
    if loan_type == LoanType.PROVIDENT and commercial != 0:
        raise invalid("commercial_amount", _("公积金贷款不含商贷；请改选组合贷款"), code=mismatch)
    if commercial > 0 and c_rate is None:
        raise invalid("commercial_rate", _("请填写商贷年利率"))
    if provident > 0 and p_rate is None:
        raise invalid("provident_rate", _("请填写公积金贷款年利率"))
    return {
        "bank": bank,
        "loan_type": loan_type,
        "commercial_amount": commercial,
        "provident_amount": provident,
        "years": years,
        "commercial_rate": c_rate if commercial > 0 else None,
        "provident_rate": p_rate if provident > 0 else None,
    }


def loan_cap(deal, home: str = "first") -> Decimal:
    """The most the buyer may borrow: the deal total less the project's minimum down
    payment for a first or second home (``PaymentSettings``)."""
    total = money(deal.total or 0)
    return total - min_down_payment(deal.project_id, total, second_home=home == "second")


def _check_cap(deal, terms: dict, home: str) -> None:
    if home not in HOMES:
        raise invalid("home", _("请选择首套或二套"))
    loan = terms["commercial_amount"] + terms["provident_amount"]
    cap = loan_cap(deal, home)
    if loan > cap:
        field = (
            "provident_amount" if terms["loan_type"] == LoanType.PROVIDENT else "commercial_amount"
        )
        reason = _(
            "贷款合计 %(loan)s 元超过可贷上限 %(cap)s 元（成交总价 %(total)s 元减项目最低首付）"
        ) % {"loan": loan, "cap": cap, "total": money(deal.total or 0)}
        raise invalid(field, reason, code=MortgageError.LOAN_TOO_HIGH)


def default_documents(loan_type: str) -> list[dict]:
    names = list(DEFAULT_DOCUMENTS)
    if loan_type in (LoanType.PROVIDENT, LoanType.COMBINED):
        names.append(PROVIDENT_DOCUMENT)
    return checklist.new(names)


def _day(value, field="on") -> datetime.date:
    """The day a step happened: today when not given, never later than today."""
    return parse_date(value, field, default_today=True, when=PAST_OR_TODAY)


def _moment(day: datetime.date):
    """Now for today; the start of a past day for a move recorded afterwards."""
    if day == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _lock(mortgage) -> Mortgage:
    return (
        Mortgage.objects.select_for_update(of=("self",))
        .select_related("deal", "deal__project")
        .get(pk=mortgage.pk)
    )


# --- services --------------------------------------------------------------------------------


def mortgage_open(
    *,
    actor,
    deal: Deal,
    bank: str,
    loan_type: str,
    commercial_amount=ZERO,
    provident_amount=ZERO,
    years,
    commercial_rate=None,
    provident_rate=None,
    follower=None,
    home: str = "first",
    note: str = "",
) -> Mortgage:
    """Open the deal's mortgage file 按揭建档 (seed 001 九(1) 客户签约后按揭回款跟踪): a
    subscribed or contracted deal paid by a loan, once; the amounts match the loan type
    and their sum leaves at least the project's minimum down payment (first or second
    home, ``PaymentSettings``); the checklist starts with the documents a bank asks for
    (seed 003 按揭协办); the mortgage starts at 资料收集."""
    rules.ensure(can_manage(actor, deal))
    terms = _terms(
        bank=bank,
        loan_type=loan_type,
        commercial_amount=commercial_amount,
        provident_amount=provident_amount,
        years=years,
        commercial_rate=commercial_rate,
        provident_rate=provident_rate,
    )
    note = _text(note, "note", 300)
    with transaction.atomic():
        deal = (
            Deal.objects.select_for_update(of=("self",)).select_related("project").get(pk=deal.pk)
        )
        rules.ensure(can_open(actor, deal))
        _check_cap(deal, terms, home)
        follower = _follower(deal, follower)
        now = timezone.now()
        try:
            with transaction.atomic():
                mortgage = Mortgage.objects.create(
                    project_id=deal.project_id,
                    deal=deal,
                    stage=Stage.COLLECTING,
                    stage_since=now,
                    documents=default_documents(terms["loan_type"]),
                    follower=follower,
                    note=note,
                    **terms,
                )
        except IntegrityError as exc:  # opened by someone else at the same instant
            raise conflict(
                _("该交易已有按揭档案。"), "deal", MortgageError.MORTGAGE_EXISTS
            ) from exc
        MortgageEvent.objects.create(
            mortgage=mortgage,
            from_stage="",
            to_stage=Stage.COLLECTING,
            note=_("建档"),
            by=actor,
            at=now,
        )
        audit_create(actor=actor, obj=mortgage, extra={"deal": deal.number, "home": home})
    return mortgage


def mortgage_update(
    *,
    actor,
    mortgage: Mortgage,
    bank=KEEP,
    loan_type=KEEP,
    commercial_amount=KEEP,
    provident_amount=KEEP,
    years=KEEP,
    commercial_rate=KEEP,
    provident_rate=KEEP,
    follower=KEEP,
    home: str = "first",
    note=KEEP,
) -> Mortgage:
    """Correct the loan's terms, the follower or the note (a field left out stays). The
    bank changes only while the file is being prepared (资料收集); once the bank has it,
    a new bank means a refusal first. After approval the amounts may change (the bank
    approved another amount) but not below what it has already paid. A disbursed
    mortgage is closed."""
    with transaction.atomic():
        mortgage = _lock(mortgage)
        rules.ensure(can_change(actor, mortgage))
        deal = mortgage.deal
        current = {
            "bank": mortgage.bank,
            "loan_type": mortgage.loan_type,
            "commercial_amount": mortgage.commercial_amount,
            "provident_amount": mortgage.provident_amount,
            "years": mortgage.years,
            "commercial_rate": mortgage.commercial_rate,
            "provident_rate": mortgage.provident_rate,
        }
        given = {
            "bank": bank,
            "loan_type": loan_type,
            "commercial_amount": commercial_amount,
            "provident_amount": provident_amount,
            "years": years,
            "commercial_rate": commercial_rate,
            "provident_rate": provident_rate,
        }
        terms = _terms(**{k: current[k] if v is KEEP else v for k, v in given.items()})
        if terms["bank"] != mortgage.bank and mortgage.stage not in (Stage.COLLECTING,):
            raise conflict(
                _("已递交银行后不能直接更换银行；拒贷后可转其他银行重新办理。"),
                "bank",
                MortgageError.MORTGAGE_LOCKED,
            )
        _check_cap(deal, terms, home)
        paid = disbursed_of(mortgage)
        loan = terms["commercial_amount"] + terms["provident_amount"]
        if loan < paid:
            raise invalid(
                "commercial_amount",
                _("银行已放款 %(paid)s 元，贷款金额不能低于已放款") % {"paid": paid},
            )
        before = snapshot(mortgage)
        for name, value in terms.items():
            setattr(mortgage, name, value)
        if follower is not KEEP:
            mortgage.follower = _follower(deal, follower)
        if note is not KEEP:
            mortgage.note = _text(note, "note", 300)
        if mortgage.loan_type in (LoanType.PROVIDENT, LoanType.COMBINED) and not any(
            d["name"] == PROVIDENT_DOCUMENT for d in mortgage.documents
        ):
            mortgage.documents = [
                *mortgage.documents,
                {"name": PROVIDENT_DOCUMENT, "done": False, "on": None},
            ]
        mortgage.save()
        audit_update(actor=actor, obj=mortgage, before=before, extra={"deal": deal.number})
    return mortgage


def mortgage_check_document(*, actor, mortgage: Mortgage, name: str, done: bool) -> Mortgage:
    """Tick (or untick) a document of the checklist as received from the buyer (seed
    003 按揭协办: 协助客户整理按揭所需材料), with the day."""
    name = (name or "").strip()
    with transaction.atomic():
        mortgage = _lock(mortgage)
        rules.ensure(can_change(actor, mortgage))
        documents = checklist.tick(mortgage.documents, name, done)
        if documents is None:
            return mortgage
        before = snapshot(mortgage)
        mortgage.documents = documents
        mortgage.save(update_fields=["documents"])
        audit_update(
            actor=actor, obj=mortgage, before=before, extra={"document": name, "done": done}
        )
    return mortgage


def missing_documents(mortgage) -> list[str]:
    return checklist.missing(mortgage.documents)


def mortgage_move(
    *,
    actor,
    mortgage: Mortgage,
    to_stage: str,
    on=None,
    note: str = "",
    rejection_next: str = "",
    bank: str = "",
) -> Mortgage:
    """Move the mortgage along its stages (``TRANSITIONS``), each move one
    ``MortgageEvent``: 资料收集 → 已递交银行 once every document is in; 已递交银行 →
    审批通过 or 拒贷 (with what happens next); 拒贷 → 资料收集 again with another bank.
    已放款 only through a disbursement (``mortgage_disburse``). ``on``: the day it
    happened (today by default; not before the current stage began, not in the future)."""
    note = _text(note, "note", 300)
    with transaction.atomic():
        mortgage = _lock(mortgage)
        rules.ensure(can_change(actor, mortgage))
        if to_stage not in Stage.values:
            raise invalid("to_stage", _("请选择新阶段"))
        current = Stage(mortgage.stage)
        target = Stage(to_stage)
        if target == Stage.DISBURSED:
            raise conflict(
                _("已放款由财务登记银行放款后自动转入，不能手动设置。"),
                "to_stage",
                MortgageError.STAGE_TRANSITION,
            )
        if target not in TRANSITIONS[current]:
            raise conflict(
                _("按揭当前为「%(a)s」，不能转为「%(b)s」。")
                % {"a": current.label, "b": target.label},
                "to_stage",
                MortgageError.STAGE_TRANSITION,
            )
        day = _day(on)
        if day < timezone.localdate(mortgage.stage_since):
            raise invalid(
                "on",
                _("日期不能早于进入「%(a)s」的日期 %(d)s")
                % {"a": current.label, "d": f"{timezone.localdate(mortgage.stage_since):%Y-%m-%d}"},
            )
        before = snapshot(mortgage)
        if target == Stage.SUBMITTED:
            missing = missing_documents(mortgage)
            if missing:
                raise conflict(
                    _("资料未收齐：%(m)s") % {"m": "、".join(missing)},
                    "documents",
                    MortgageError.DOCUMENTS_MISSING,
                )
            mortgage.submitted_on = day
        elif target == Stage.APPROVED:
            mortgage.approved_on = day
        elif target == Stage.REJECTED:
            if rejection_next not in RejectionNext.values:
                raise invalid(
                    "rejection_next",
                    _("拒贷须注明后续处理（转其他银行、改一次性付款、增加首付、退房或待定）"),
                    code=MortgageError.REJECTION_NEXT_REQUIRED,
                )
            mortgage.rejected_on, mortgage.rejection_next = day, rejection_next
        elif target == Stage.COLLECTING:  # after a refusal: another bank
            new_bank = _text(bank, "bank", 50, _("请填写重新办理的贷款银行"))
            if new_bank == mortgage.bank:
                raise invalid("bank", _("「%(b)s」已拒贷，请换一家银行") % {"b": new_bank})
            note = note or _("%(old)s 拒贷，转 %(new)s 重新办理") % {
                "old": mortgage.bank,
                "new": new_bank,
            }
            mortgage.bank = new_bank
            mortgage.submitted_on = mortgage.approved_on = mortgage.rejected_on = None
            mortgage.rejection_next = ""
        at = _moment(day)
        mortgage.stage, mortgage.stage_since = target, at
        mortgage.save()
        MortgageEvent.objects.create(
            mortgage=mortgage, from_stage=current, to_stage=target, note=note, by=actor, at=at
        )
        audit_update(
            actor=actor, obj=mortgage, before=before, extra={"note": note} if note else None
        )
    return mortgage


def disbursement_reversed(*, actor, receipt) -> None:
    """A disbursement's receipt reversed 红冲: a mortgage that was 已放款 goes back to
    审批通过 while its loan is owed again (the stage history says why)."""
    if receipt.method != Method.MORTGAGE:
        return
    mortgage = (
        Mortgage.objects.select_for_update(of=("self",))
        .select_related("deal")
        .filter(deal_id=receipt.deal_id, stage=Stage.DISBURSED)
        .first()
    )
    if mortgage is None or loan_owed(mortgage.deal) <= 0:
        return
    before = snapshot(mortgage)
    now = timezone.now()
    mortgage.stage, mortgage.stage_since, mortgage.disbursed_on = Stage.APPROVED, now, None
    mortgage.save()
    MortgageEvent.objects.create(
        mortgage=mortgage,
        from_stage=Stage.DISBURSED,
        to_stage=Stage.APPROVED,
        note=_("放款收据 %(n)s 已红冲") % {"n": receipt.number},
        by=actor,
        at=now,
    )
    audit_update(actor=actor, obj=mortgage, before=before, extra={"receipt": receipt.number})


def disbursed_of(mortgage) -> Decimal:
    """What the banks have paid on the deal's loan, as the ledger holds it (disbursements
    less their reversals)."""
    total = LedgerEntry.objects.filter(deal_id=mortgage.deal_id, method=Method.MORTGAGE).aggregate(
        s=Sum("amount")
    )["s"]
    return money(total or 0)


def loan_owed(deal) -> Decimal:
    """What the deal's loan items of the schedule still wait for."""
    paid = paid_by_item(deal)
    return sum(
        (i.amount - paid.get(i.pk, ZERO) for i in live_items(deal).filter(kind__in=LOAN_KINDS)),
        ZERO,
    )


def mortgage_disburse(*, actor, mortgage: Mortgage, amount, paid_on=None, bank_reference: str = ""):
    """Finance records the bank's disbursement 按揭放款 (seed 001 九(2) 统计汇总按揭到帐款项):
    ledger entries of method 按揭放款 against the deal's loan items with a receipt
    (``services.payment_record``), the bank named; not more than the loan still owed.
    When the loan is fully received (the mortgage's amount, or the schedule's loan items
    paid) the mortgage moves to 已放款 with the day. Returns the receipt."""
    rules.ensure(can_disburse(actor, mortgage))
    amount = _money_field(amount, "amount")
    if amount <= 0:
        raise invalid("amount", _("金额必须大于 0"))
    paid_on = _day(paid_on, "paid_on")
    with transaction.atomic():
        # the ledger's lock order: the project's money, the deal, then the mortgage
        lock_project_money(mortgage.project_id)
        Deal.objects.select_for_update(of=("self",)).filter(pk=mortgage.deal_id).first()
        mortgage = _lock(mortgage)
        rules.ensure(can_disburse(actor, mortgage))
        already = disbursed_of(mortgage)
        left = mortgage.loan_total - already
        if amount > left:
            raise invalid(
                "amount",
                _("贷款 %(loan)s 元已放款 %(paid)s 元，本次最多 %(left)s 元")
                % {"loan": mortgage.loan_total, "paid": already, "left": left},
                code=PaymentError.OVERPAID,
            )
        receipt = payment_record(
            actor=actor,
            deal=mortgage.deal,
            amount=amount,
            method=Method.MORTGAGE,
            paid_on=paid_on,
            bank_reference=bank_reference,
            bank=mortgage.bank,
            note=_("%(b)s按揭放款") % {"b": mortgage.bank},
        )
        before = snapshot(mortgage)
        received = already + amount
        if received >= mortgage.loan_total or loan_owed(mortgage.deal) <= 0:
            at = max(_moment(paid_on), mortgage.stage_since)
            mortgage.stage, mortgage.stage_since = Stage.DISBURSED, at
            mortgage.disbursed_on = paid_on
            mortgage.save()
            MortgageEvent.objects.create(
                mortgage=mortgage,
                from_stage=Stage.APPROVED,
                to_stage=Stage.DISBURSED,
                note=_("放款 %(a)s 元，收据 %(n)s") % {"a": received, "n": receipt.number},
                by=actor,
                at=at,
            )
            audit_update(
                actor=actor, obj=mortgage, before=before, extra={"receipt": receipt.number}
            )
        else:
            audit_record(
                actor=actor,
                action="update",
                obj=mortgage,
                changes={},
                extra={"disbursed": str(amount), "receipt": receipt.number},
            )
    return receipt


# --- selectors -------------------------------------------------------------------------------


def mortgages_of(user, project):
    """The project's mortgages the user may see (a consultant: their own deals'), with
    what the pipeline shows."""
    return (
        Mortgage.objects.restrict(user, "view")
        .filter(project=project)
        .select_related("deal__unit", "deal__customer", "deal__consultant", "follower")
    )


def days_in_stage(mortgage, today: datetime.date | None = None) -> int:
    """Whole days since the mortgage entered its stage, as of ``today`` (computed, never
    stored)."""
    today = today or timezone.localdate()
    return max((today - timezone.localdate(mortgage.stage_since)).days, 0)


def stage_counts(queryset) -> list[tuple[str, str, int]]:
    """(stage, label, count) for every stage, in the pipeline's order (one query)."""
    counts = dict(queryset.order_by().values_list("stage").annotate(n=Count("pk")))
    return [(s.value, s.label, counts.get(s.value, 0)) for s in Stage]


def awaiting(user, project):
    """The deals the user sees that are paid by a loan, live, and have no mortgage file
    yet (the pipeline's 待建档 list)."""
    if not (
        access.has_perm(user, "payment.view", project)
        or access.has_perm(user, "payment.view_own", project)
    ):
        return Deal.objects.none()
    deals = Deal.objects.restrict(user, "view").filter(
        project=project,
        status__in=rules.PAYING,
        payment_method__in=LOAN_METHODS,
        mortgage__isnull=True,
    )
    if not access.has_perm(user, "payment.view", project):
        deals = deals.filter(consultant=user)
    return deals.select_related("unit", "customer", "consultant").order_by("subscribed_at", "pk")


class MortgageFilterSet(django_filters.FilterSet):
    """One filter set for the pipeline page and ``/api/v1/mortgages/``: stage, loan type,
    bank, follower, at least N days in the stage, and a search by deal number, unit or
    buyer name."""

    q = django_filters.CharFilter(label=gettext_lazy("单号 / 房号 / 客户"), method="search")
    stage = django_filters.ChoiceFilter(label=gettext_lazy("办理阶段"), choices=Stage.choices)
    loan_type = django_filters.ChoiceFilter(
        label=gettext_lazy("贷款类型"), choices=LoanType.choices
    )
    bank = django_filters.CharFilter(label=gettext_lazy("贷款银行"), lookup_expr="icontains")
    follower = django_filters.ModelChoiceFilter(
        label=gettext_lazy("按揭专员"), queryset=get_user_model().objects.none()
    )
    min_days = django_filters.NumberFilter(
        label=gettext_lazy("本阶段停留≥天"), method="filter_min_days", min_value=0
    )

    class Meta:
        model = Mortgage
        fields = ["q", "stage", "loan_type", "bank", "follower", "min_days"]

    def __init__(self, *args, project=None, **kwargs):
        super().__init__(*args, **kwargs)
        users = get_user_model().objects.filter(is_active=True)
        if project is not None:
            users = users.filter(memberships__project=project)
        elif self.request is not None:
            users = users.filter(
                memberships__project__in=Project.objects.restrict(self.request.user, "view")
            )
        else:
            users = users.none()
        self.filters["follower"].queryset = users.distinct().order_by("real_name", "username")

    def search(self, queryset, name, value):
        text = (value or "").strip()
        if not text:
            return queryset
        return queryset.filter(deal_search_q(text))

    def filter_min_days(self, queryset, name, value):
        if value is None:
            return queryset
        start = timezone.localdate() - datetime.timedelta(days=int(value))
        cutoff = timezone.make_aware(
            datetime.datetime.combine(start + datetime.timedelta(days=1), datetime.time())
        )
        return queryset.filter(stage_since__lt=cutoff)


# --- the pipeline as xlsx ---------------------------------------------------------------------


_c = xlsx.col


COLUMNS = [
    _c("deal", "认购书编号", width=18),
    _c("contract", "合同编号", width=18),
    _c("unit", "房间", width=12),
    _c("customer", "客户", width=12),
    _c("consultant", "置业顾问", width=10),
    _c("bank", "贷款银行", width=14),
    _c("loan_type", "贷款类型", width=10),
    _c("commercial_amount", "商贷金额（元）", "money", width=14),
    _c("provident_amount", "公积金贷款（元）", "money", width=14),
    _c("loan_total", "贷款合计（元）", "money", width=14),
    _c("years", "年限", "integer", width=6),
    _c("stage", "办理阶段", width=10),
    _c("days", "本阶段天数", "integer", width=10),
    _c("documents", "资料", width=8),
    _c("follower", "按揭专员", width=10),
    _c("submitted_on", "递交日期"),
    _c("approved_on", "审批日期"),
    _c("disbursed_on", "放款日期"),
    _c("rejected", "拒贷 / 后续", width=16),
    _c("note", "备注", width=24),
]


def _name(user) -> str:
    return (user.real_name or user.username) if user else ""


def _d(value) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def mortgage_row(m, today) -> list:
    done = sum(1 for d in m.documents if d.get("done"))
    return [
        m.deal.number,
        m.deal.contract_number,
        m.deal.unit.number,
        m.deal.customer.name,
        _name(m.deal.consultant),
        m.bank,
        m.get_loan_type_display(),
        m.commercial_amount,
        m.provident_amount,
        m.loan_total,
        m.years,
        m.get_stage_display(),
        days_in_stage(m, today),
        f"{done}/{len(m.documents)}",
        _name(m.follower),
        _d(m.submitted_on),
        _d(m.approved_on),
        _d(m.disbursed_on),
        " ".join(filter(None, [_d(m.rejected_on), m.get_rejection_next_display()])),
        m.note,
    ]


def may_export(user, project) -> bool:
    """The pipeline leaves as a file only for those who see the project's money."""
    return access.has_perm(user, "payment.view", project)


def mortgages_export(*, actor, project, queryset, filters: dict) -> bytes:
    """The pipeline 按揭进度表 as xlsx, audited as an export with its filters."""
    if not may_export(actor, project):
        raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有导出按揭进度表的权限"))
    # it names the customers: with the manager's consent where the project wants it
    customer_exports.require_consent(project)
    today = timezone.localdate()
    content, _count = xlsx.export_audited(
        actor=actor,
        project=project,
        what="payments.mortgage",
        sheet="按揭进度表",
        columns=COLUMNS,
        rows=(mortgage_row(m, today) for m in queryset.iterator(chunk_size=500)),
        filters=filters,
    )
    return content


# --- reconciliation 按揭对帐 ------------------------------------------------------------------


def parse_month(value) -> datetime.date:
    """``YYYY-MM`` as the month's first day (the current month when empty)."""
    if value in (None, ""):
        return timezone.localdate().replace(day=1)
    try:
        return datetime.datetime.strptime(str(value).strip(), "%Y-%m").date()
    except ValueError as exc:
        raise invalid("month", _("月份格式应为 YYYY-MM，如 2026-03")) from exc


def month_end(first: datetime.date) -> datetime.date:
    nxt = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    return nxt - datetime.timedelta(days=1)


def reconciliation(user, project, month) -> dict:
    """The month's reconciliation per bank (seed 001 九(3) 与财务对帐): ``expected``, the
    loan items of the schedule due in the month on the live deals whose mortgage is with
    that bank (a refused mortgage expects nothing); ``received``, the ledger's
    disbursements (method 按揭放款, less their reversals) from that bank paid in the
    month; ``difference`` = received − expected. Both read through the user's restricted
    querysets."""
    first = parse_month(month) if not isinstance(month, datetime.date) else month.replace(day=1)
    last = month_end(first)
    expected = (
        ScheduleItem.objects.restrict(user, "view")
        .filter(
            project=project,
            live=True,
            kind__in=LOAN_KINDS,
            due_date__range=(first, last),
            deal__status__in=rules.PAYING,
            deal__mortgage__isnull=False,
        )
        .exclude(deal__mortgage__stage=Stage.REJECTED)
        .order_by()
        .values("deal__mortgage__bank")
        .annotate(s=Sum("amount"), n=Count("pk"))
    )
    received = (
        LedgerEntry.objects.restrict(user, "view")
        .filter(project=project, method=Method.MORTGAGE, paid_on__range=(first, last))
        .order_by()
        .values("bank")
        .annotate(s=Sum("amount"), n=Count("pk"))
    )
    banks: dict[str, dict] = {}

    def row(bank):
        return banks.setdefault(
            bank,
            {"bank": bank, "expected": ZERO, "received": ZERO, "items": 0, "entries": 0},
        )

    for r in expected:
        line = row(r["deal__mortgage__bank"])
        line["expected"] += money(r["s"] or 0)
        line["items"] += r["n"]
    for r in received:
        line = row(r["bank"])
        line["received"] += money(r["s"] or 0)
        line["entries"] += r["n"]
    rows = sorted(banks.values(), key=lambda r: r["bank"])
    for r in rows:
        r["difference"] = r["received"] - r["expected"]
    totals = {
        "expected": sum((r["expected"] for r in rows), ZERO),
        "received": sum((r["received"] for r in rows), ZERO),
    }
    totals["difference"] = totals["received"] - totals["expected"]
    return {"month": f"{first:%Y-%m}", "first": first, "last": last, "rows": rows, "totals": totals}


def may_reconcile(user, project) -> bool:
    """The reconciliation is the office's (finance and whoever sees all the money)."""
    return access.has_perm(user, "payment.view", project)
