"""What the contract says, read from the deal (``contracts.py`` writes): the
placeholders a template may use, their values for a deal (``context_of``), the digest
finance approves (``digest_of``) and the review's state and gate (``reviewed``, asked
by ``rules.can_contract``). Reads only; imports no predicate module, so the rules can
ask it."""

import datetime
import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loupan.approvals.models import ApprovalRequest, ApprovalStatus
from loupan.core.errors import DomainError, conflict
from loupan.core.money import rmb_upper

from . import ports
from .errors import DealError
from .models import ApprovalKind, ContractTemplate, Deal, DealStatus, DealUnit, TemplateKind

Answer = tuple[bool, DomainError | None]


@dataclass(frozen=True)
class Placeholder:
    name: str
    label: object
    kinds: tuple = (TemplateKind.CONTRACT, TemplateKind.SUPPLEMENT)


# The placeholders a template may use, documented on the upload page. Amounts are in
# figures (``total``: 1,234,567.00) and in capital numerals (``total_upper``).
PLACEHOLDERS = [
    Placeholder("contract_number", _("合同编号（签约前为空）")),
    Placeholder("subscription_number", _("认购书编号")),
    Placeholder("reservation_number", _("保留单号")),
    Placeholder("seller_name", _("出卖人（开发企业）名称")),
    Placeholder("seller_credit_code", _("出卖人统一社会信用代码")),
    Placeholder("seller_address", _("出卖人地址")),
    Placeholder("seller_phone", _("出卖人电话")),
    Placeholder("project_name", _("项目名称")),
    Placeholder("project_address", _("项目地址")),
    Placeholder("project_city", _("城市")),
    Placeholder("presale_permit", _("预售许可证号")),
    Placeholder("buyer_names", _("买受人姓名（多人以顿号分隔）")),
    Placeholder("buyer_id_numbers", _("买受人身份证号（多人以顿号分隔）")),
    Placeholder("buyer_name", _("第一买受人姓名")),
    Placeholder("buyer_id_number", _("第一买受人身份证号")),
    Placeholder("buyer_phone", _("第一买受人电话")),
    Placeholder(
        "buyers",
        _(
            "买受人列表，循环使用：{%p for b in buyers %}{{ b.name }} {{ b.id_number }} {{ b.phone }} {{ b.share }}%{%p endfor %}"
        ),
    ),
    Placeholder("unit_number", _("房间编号")),
    Placeholder("unit_address", _("房屋坐落（项目地址 + 楼栋 + 房号）")),
    Placeholder("building", _("楼栋")),
    Placeholder("floor", _("楼层")),
    Placeholder("layout", _("户型")),
    Placeholder("use", _("用途")),
    Placeholder("gross_area", _("建筑面积（㎡）")),
    Placeholder("internal_area", _("套内面积（㎡）")),
    Placeholder("area", _("计价面积（㎡）")),
    Placeholder("pricing_basis", _("计价方式")),
    Placeholder(
        "units",
        _(
            "交易房间列表（含车位、储藏室），循环：{{ u.number }} {{ u.use }} {{ u.area }} {{ u.price }}"
        ),
    ),
    Placeholder("unit_price", _("单价（元）")),
    Placeholder("unit_price_upper", _("单价大写")),
    Placeholder("list_total", _("表价总额（元）")),
    Placeholder("list_total_upper", _("表价总额大写")),
    Placeholder("discount_amount", _("优惠金额（元）")),
    Placeholder("total", _("成交总价（元）")),
    Placeholder("total_upper", _("成交总价大写")),
    Placeholder("deposit", _("定金（元）")),
    Placeholder("deposit_upper", _("定金大写")),
    Placeholder("down_payment", _("首付款（元）")),
    Placeholder("down_payment_upper", _("首付款大写")),
    Placeholder("loan_amount", _("贷款金额（元）")),
    Placeholder("loan_amount_upper", _("贷款金额大写")),
    Placeholder("payment_method", _("付款方式")),
    Placeholder(
        "schedule",
        _(
            "付款计划，循环：{{ p.seq }} {{ p.name }} {{ p.due_date }} {{ p.amount }} {{ p.amount_upper }}"
        ),
    ),
    Placeholder("clauses", _("已批准的特殊条款，循环：{{ c.text }}")),
    Placeholder("subscribed_on", _("认购日期")),
    Placeholder("signing_deadline", _("签约期限")),
    Placeholder("signed_on", _("签约日期")),
    Placeholder("delivery_date", _("交付日期")),
    Placeholder("today", _("打印日期")),
    Placeholder("consultant", _("置业顾问")),
    Placeholder("supplement_number", _("补充协议编号"), (TemplateKind.SUPPLEMENT,)),
    Placeholder("supplement_title", _("补充协议名称"), (TemplateKind.SUPPLEMENT,)),
    Placeholder("supplement_text", _("补充协议条款内容"), (TemplateKind.SUPPLEMENT,)),
]
# what changes with each printing and is not part of what finance approves
VOLATILE = ("today", "contract_number", "signed_on")


def placeholders_of(kind: str) -> list[Placeholder]:
    return [p for p in PLACEHOLDERS if kind in p.kinds]


def active_template(project, kind: str = TemplateKind.CONTRACT) -> ContractTemplate | None:
    return ContractTemplate.objects.filter(project=project, kind=kind, is_active=True).first()


def _amount(value) -> str:
    return "" if value is None else f"{Decimal(value):,.2f}"


def _upper(value) -> str:
    return "" if value is None else rmb_upper(value)


def _date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date()
    return f"{value.year}年{value.month}月{value.day}日"


def _contact(viewer, customer) -> dict:
    """A buyer's numbers as ``viewer`` may see them (``customers.selectors.contact``,
    the masking rules of ``core.masking``); ``None``: in full (the review digest)."""
    from loupan.core.identity import display_phone
    from loupan.customers import selectors as customer_selectors

    if viewer is None:
        return {"phone": display_phone(customer.phone), "id_number": customer.id_number}
    return customer_selectors.contact(viewer, customer)


def context_of(deal: Deal, viewer=None, **extra) -> dict:
    """The values of every placeholder for ``deal``; personal numbers as ``viewer`` may
    see them (``None``: in full)."""
    project, unit = deal.project, deal.unit
    company = project.company
    buyers = []
    for b in deal.buyers.select_related("customer").order_by("sort_order", "pk"):
        contact = _contact(viewer, b.customer)
        buyers.append(
            {
                "name": b.customer.name,
                "id_number": contact["id_number"] or "",
                "phone": contact["phone"] or "",
                "share": f"{b.share.normalize():f}",
            }
        )
    if not buyers:  # a reservation: the customer reserved for
        contact = _contact(viewer, deal.customer)
        buyers.append(
            {
                "name": deal.customer.name,
                "id_number": contact["id_number"] or "",
                "phone": contact["phone"] or "",
                "share": "100",
            }
        )
    units = [
        {
            "number": du.unit.number,
            "use": du.unit.get_use_display(),
            "area": _amount(du.unit.gross_area),
            "price": _amount(du.list_price),
        }
        for du in DealUnit.objects.filter(deal=deal)
        .select_related("unit")
        .order_by("-is_main", "pk")
    ]
    schedule = [
        {
            "seq": item["seq"],
            "name": item["name"],
            "amount": _amount(item["amount"]),
            "amount_upper": _upper(item["amount"]),
            "due_date": _date(item["due_date"]),
        }
        for item in ports.money.schedule_of(deal)
    ]
    permit = getattr(unit.building, "permit", None)
    loan = (
        deal.total - deal.down_payment
        if deal.total is not None and deal.down_payment is not None
        else None
    )
    address = "".join(part for part in (project.city, project.district, project.address) if part)
    values = {
        "contract_number": deal.contract_number,
        "subscription_number": deal.number,
        "reservation_number": deal.reservation_number,
        "seller_name": company.name if company else "",
        "seller_credit_code": company.credit_code if company else "",
        "seller_address": company.address if company else "",
        "seller_phone": company.phone if company else "",
        "project_name": project.name,
        "project_address": address,
        "project_city": project.city,
        "presale_permit": permit.number if permit else "",
        "buyers": buyers,
        "buyer_names": "、".join(b["name"] for b in buyers),
        "buyer_id_numbers": "、".join(b["id_number"] for b in buyers if b["id_number"]),
        "buyer_name": buyers[0]["name"],
        "buyer_id_number": buyers[0]["id_number"],
        "buyer_phone": buyers[0]["phone"],
        "unit_number": unit.number,
        "unit_address": f"{address}{unit.building.name}{unit.number}",
        "building": unit.building.name,
        "floor": str(unit.floor),
        "layout": unit.layout.name if unit.layout_id else "",
        "use": unit.get_use_display(),
        "gross_area": _amount(unit.gross_area),
        "internal_area": _amount(unit.internal_area),
        "area": _amount(deal.area),
        "pricing_basis": deal.get_pricing_basis_display() if deal.pricing_basis else "",
        "units": units,
        "unit_price": _amount(deal.unit_price),
        "unit_price_upper": _upper(deal.unit_price),
        "list_total": _amount(deal.list_total),
        "list_total_upper": _upper(deal.list_total),
        "discount_amount": _amount(deal.discount_amount),
        "total": _amount(deal.total),
        "total_upper": _upper(deal.total),
        "deposit": _amount(deal.deposit),
        "deposit_upper": _upper(deal.deposit),
        "down_payment": _amount(deal.down_payment),
        "down_payment_upper": _upper(deal.down_payment),
        "loan_amount": _amount(loan),
        "loan_amount_upper": _upper(loan),
        "payment_method": deal.get_payment_method_display() if deal.payment_method else "",
        "schedule": schedule,
        "clauses": [{"text": c.text} for c in deal.clauses.filter(approved=True)],
        "subscribed_on": _date(deal.subscribed_at),
        "signing_deadline": _date(deal.signing_deadline),
        "signed_on": _date(deal.signed_on),
        "delivery_date": _date(deal.delivery_date),
        "today": _date(timezone.localdate()),
        "consultant": deal.consultant.real_name or deal.consultant.username,
    }
    values.update(extra)
    return values


def digest_of(deal: Deal, template: ContractTemplate | None) -> str:
    """What finance approves: the contract's fields in full and the template version
    (not the printing date or the number given at signing)."""
    values = {k: v for k, v in context_of(deal).items() if k not in VOLATILE}
    values["_template"] = template.pk if template else None
    canonical = json.dumps(values, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def review_of(deal: Deal) -> ApprovalRequest | None:
    """The deal's latest review request (any status)."""
    return (
        deal.approvals.filter(kind=ApprovalKind.CONTRACT_REVIEW)
        .select_related("decided_by")
        .order_by("-requested_at", "-pk")
        .first()
    )


def review_state(deal: Deal) -> dict:
    """The review as the deal page and the API show it: ``none``, ``pending``,
    ``approved`` (and whether it still holds for the contract as it is now),
    ``rejected`` with finance's reason."""
    review = review_of(deal)
    if review is None:
        return {"state": "none", "request": None, "current": False}
    # the deal as stored now: a caller's copy may be older than the approval
    deal = Deal.objects.select_related(
        "project__company", "unit__building__permit", "unit__layout", "customer", "consultant"
    ).get(pk=deal.pk)
    current = False
    if review.status == ApprovalStatus.APPROVED and deal.status == DealStatus.SUBSCRIBED:
        template = ContractTemplate.objects.filter(pk=review.payload.get("template")).first()
        current = review.payload.get("digest") == digest_of(deal, template)
    return {
        "state": review.status,
        "request": review,
        "current": current or deal.status == DealStatus.CONTRACTED,
        "reason": review.decision_reason,
    }


def reviewed(deal: Deal) -> Answer:
    """The signing gate: finance approved this contract as it is now."""
    state = review_state(deal)
    if state["state"] == ApprovalStatus.APPROVED and state["current"]:
        return True, None
    if state["state"] == ApprovalStatus.APPROVED:
        message = _("合同内容在计财部审核后有变化，请重新提交计财部审核。")
    elif state["state"] == ApprovalStatus.PENDING:
        message = _("合同正在计财部审核，审核通过后才能签约盖章。")
    elif state["state"] == ApprovalStatus.REJECTED:
        message = _("计财部退回了合同（%(r)s），修改后请重新提交审核。") % {"r": state["reason"]}
    else:
        message = _("合同须经计财部审核通过后才能签约盖章。")
    return False, conflict(message, "review", code=DealError.CONTRACT_NOT_REVIEWED)
