"""The contract as a document (issue 12, seed 001 销售案场管理 6 签约管理): the office's
Word templates (the city's model contract 商品房买卖合同示范文本 and its supplementary
agreements 补充协议, .docx with ``{{ placeholders }}``), the contract printed from the
active template with the deal's fields, finance's review 计财部审核 before signing
(「签定并提交计财部《商品房买卖合同》审核盖章」), and the deal's supplementary agreements.

Templates are filled by docxtpl (Jinja inside .docx) in Jinja's sandbox: a template is
the office's file, not code to trust. Values are XML-escaped. A template may use only
the placeholders listed in ``PLACEHOLDERS`` (and the loops' fields): an upload naming
any other is refused with the unknown names, so a typo never prints an empty blank.

Finance's review is a request of the approval engine (kind ``contract_review``,
decided by whoever holds ``contract.review``, never by the requester). The request
carries the SHA-256 of the contract's fields and template version (``digest_of``):
signing (``rules.can_contract``) needs the latest review approved **for the contract as
it is now**, so a rename or a new template after the approval needs a new review.
"""

import datetime
import hashlib
import io
import json
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loupan.accounts import access
from loupan.approvals.models import ApprovalRequest, ApprovalStatus
from loupan.audit.models import AuditAction
from loupan.audit.services import audit_create, audit_record, audit_update
from loupan.core.errors import ErrorCode, conflict, invalid
from loupan.core.money import rmb_upper
from loupan.core.snapshot import snapshot
from loupan.core.uploads import validate_document, validate_docx

from . import ports, rules
from .errors import DealError
from .models import (
    ApprovalKind,
    ContractTemplate,
    Deal,
    DealStatus,
    DealUnit,
    DocumentSource,
    Supplement,
    TemplateKind,
)


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


def _file_code(exc: ValidationError):
    """The upload check's refusal as the deals' error code (file_type, file_size, …)."""
    return {
        "file_type": DealError.FILE_TYPE,
        "file_size": DealError.FILE_SIZE,
        "file_content": DealError.FILE_CONTENT,
    }.get(getattr(exc, "code", None), ErrorCode.INVALID)


def _environment():
    """Jinja's sandbox: a template reads the context's plain values and nothing else."""
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(autoescape=False)


# --- templates --------------------------------------------------------------------------


def template_parse(upload, kind: str) -> list[str]:
    """The placeholders a .docx uses; refuses a file that is not a Word document, is too
    big, is not valid Jinja, or names a placeholder the kind does not know."""
    from docxtpl import DocxTemplate
    from jinja2 import TemplateError

    try:
        validate_docx(upload)
    except ValidationError as exc:
        raise invalid("file", exc.messages[0], code=_file_code(exc)) from exc
    try:
        document = DocxTemplate(io.BytesIO(upload.read()))
        used = document.get_undeclared_template_variables(_environment())
    except TemplateError as exc:
        raise invalid(
            "file",
            _("模板中的占位符写法有误：%(error)s") % {"error": exc},
            code=DealError.TEMPLATE_SYNTAX,
        ) from exc
    except Exception as exc:  # a broken package python-docx cannot read
        raise invalid(
            "file",
            _("无法读取该 Word 文件，请用 Word 另存为 .docx 后重新上传"),
            code=DealError.FILE_CONTENT,
        ) from exc
    finally:
        upload.seek(0)
    known = {p.name for p in placeholders_of(kind)}
    unknown = sorted(set(used) - known)
    if unknown:
        raise invalid(
            "file",
            _("模板中有系统不认识的占位符：%(names)s") % {"names": "、".join(unknown)},
            code=DealError.UNKNOWN_PLACEHOLDER,
        )
    return sorted(used)


def template_upload(*, actor, project, kind: str, name: str, upload, activate: bool = True):
    """A new version of the project's template of ``kind`` (versions are kept; the new
    one becomes the active one unless ``activate`` is false). The contract desk
    (``deal.contract``) keeps the templates."""
    access.require_perm(actor, "deal.contract", project)
    if kind not in TemplateKind.values:
        raise invalid("kind", _("模板类型无效"))
    name = (name or "").strip()
    if not name:
        raise invalid("name", _("请填写模板名称"))
    if len(name) > 100:
        raise invalid("name", _("模板名称不能超过 100 个字"))
    if upload is None:
        raise invalid("file", _("请选择要上传的 .docx 文件"))
    used = template_parse(upload, kind)
    with transaction.atomic():
        # the project's templates of the kind, locked: versions and the active one
        rows = list(
            ContractTemplate.objects.select_for_update()
            .filter(project=project, kind=kind)
            .order_by("pk")
        )
        version = max((t.version for t in rows), default=0) + 1
        template = ContractTemplate(
            project=project,
            kind=kind,
            version=version,
            name=name,
            placeholders=used,
            is_active=False,
            uploaded_by=actor,
            uploaded_at=timezone.now(),
        )
        template.file.save(f"{project.pk}/{kind}-v{version}.docx", upload, save=False)
        template.save()
        audit_create(actor=actor, obj=template)
        if activate:
            _activate(actor, template, rows)
    return template


def template_activate(*, actor, template: ContractTemplate) -> ContractTemplate:
    """Make ``template`` the active version of its kind (the one before stays, inactive)."""
    access.require_perm(actor, "deal.contract", template.project_id)
    with transaction.atomic():
        rows = list(
            ContractTemplate.objects.select_for_update()
            .filter(project_id=template.project_id, kind=template.kind)
            .order_by("pk")
        )
        template = next(t for t in rows if t.pk == template.pk)
        _activate(actor, template, rows)
    return template


def _activate(actor, template, rows) -> None:
    for other in rows:
        if other.is_active and other.pk != template.pk:
            before = snapshot(other)
            other.is_active = False
            other.save(update_fields=["is_active"])
            audit_update(actor=actor, obj=other, before=before)
    if not template.is_active:
        before = snapshot(template)
        template.is_active = True
        template.save(update_fields=["is_active"])
        audit_update(actor=actor, obj=template, before=before)


def active_template(project, kind: str = TemplateKind.CONTRACT) -> ContractTemplate | None:
    return ContractTemplate.objects.filter(project=project, kind=kind, is_active=True).first()


# --- the deal's fields ------------------------------------------------------------------


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


def render(template: ContractTemplate, context: dict) -> bytes:
    """The template filled with ``context`` (values XML-escaped) as .docx bytes."""
    from docxtpl import DocxTemplate

    try:
        with template.file.open("rb") as handle:
            document = DocxTemplate(io.BytesIO(handle.read()))
    except OSError as exc:  # the stored file is gone (a restore without media)
        raise conflict(
            _("模板文件缺失，请重新上传该模板。"), "template", code=DealError.TEMPLATE_MISSING
        ) from exc
    document.render(context, _environment(), autoescape=True)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def digest_of(deal: Deal, template: ContractTemplate | None) -> str:
    """What finance approves: the contract's fields in full and the template version
    (not the printing date or the number given at signing)."""
    values = {k: v for k, v in context_of(deal).items() if k not in VOLATILE}
    values["_template"] = template.pk if template else None
    canonical = json.dumps(values, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# --- printing ---------------------------------------------------------------------------

PRINTABLE = (DealStatus.SUBSCRIBED, DealStatus.CONTRACTED)


def can_print(user, deal) -> rules.Answer:
    """The contract desk and the deal's consultant prepare it; finance reads what it
    reviews; leads too. Only once subscribed (the terms are set)."""
    permitted = (
        rules.own_or(user, deal, "deal.contract")
        or access.has_perm(user, "contract.review", deal.project_id)
        or access.has_perm(user, "deal.approve", deal.project_id)
    )
    return rules._check(
        permitted,
        "deal.contract",
        deal.status in PRINTABLE,
        _("交易当前为「%(s)s」，认购后才能打印合同。") % {"s": deal.get_status_display()},
    )


def review_of(deal: Deal) -> ApprovalRequest | None:
    """The deal's latest review request (any status)."""
    return (
        deal.approvals.filter(kind=ApprovalKind.CONTRACT_REVIEW)
        .select_related("decided_by")
        .order_by("-requested_at", "-pk")
        .first()
    )


def printed_template(deal: Deal) -> ContractTemplate | None:
    """The template a deal's contract prints from: the version finance approved while
    that approval holds, else the project's active contract template."""
    review = review_of(deal)
    if review is not None and review.status == ApprovalStatus.APPROVED:
        approved = ContractTemplate.objects.filter(pk=review.payload.get("template")).first()
        if approved is not None:
            return approved
    return active_template(deal.project)


def contract_print(*, actor, deal: Deal) -> tuple[bytes, str]:
    """The contract (.docx) filled with the deal's fields; personal numbers in full only
    for a viewer allowed to see them. Audited as an export. Returns (content, name)."""
    rules.ensure(can_print(actor, deal))
    template = printed_template(deal)
    if template is None:
        raise conflict(
            _("本项目还没有启用的合同模板，请先上传。"), "template", code=DealError.TEMPLATE_MISSING
        )
    content = render(template, context_of(deal, actor))
    masked = context_of_masked(actor, deal)
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        obj=deal,
        extra={
            "document": "contract",
            "template": template.pk,
            "version": template.version,
            "masked": masked,
        },
    )
    name = f"{deal.contract_number or deal.number or deal.reservation_number}-合同.docx"
    return content, name


def context_of_masked(viewer, deal) -> bool:
    """Whether ``viewer`` gets any buyer's numbers masked."""
    from loupan.customers import selectors as customer_selectors

    customers = [b.customer for b in deal.buyers.select_related("customer")] or [deal.customer]
    return any(not customer_selectors.can_see_contact(viewer, c) for c in customers)


# --- finance's review 计财部审核 ---------------------------------------------------------


def can_submit_review(user, deal) -> rules.Answer:
    """The contract desk (or the deal's consultant) submits the drafted contract to
    finance once subscribed, while nothing waits: a change, a special clause, or a
    review already."""
    answer = rules._check(
        rules.own_or(user, deal, "deal.contract"),
        "deal.contract",
        deal.status == DealStatus.SUBSCRIBED,
        _("交易当前为「%(s)s」，认购后、签约前才能提交计财部审核。")
        % {"s": deal.get_status_display()},
    )
    return rules.no_change_pending(deal) if answer[0] else answer


def review_state(deal: Deal) -> dict:
    """The review as the deal page and the API show it: ``none``, ``pending``,
    ``approved`` (and whether it still holds for the contract as it is now),
    ``rejected`` with finance's reason."""
    review = review_of(deal)
    if review is None:
        return {"state": "none", "request": None, "current": False}
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


def reviewed(deal: Deal) -> rules.Answer:
    """The signing gate: finance approved this contract as it is now."""
    state = review_state(deal)
    if state["state"] == ApprovalStatus.APPROVED and state["current"]:
        return rules.YES
    if state["state"] == ApprovalStatus.APPROVED:
        message = _("合同内容在计财部审核后有变化，请重新提交计财部审核。")
    elif state["state"] == ApprovalStatus.PENDING:
        message = _("合同正在计财部审核，审核通过后才能签约盖章。")
    elif state["state"] == ApprovalStatus.REJECTED:
        message = _("计财部退回了合同（%(r)s），修改后请重新提交审核。") % {"r": state["reason"]}
    else:
        message = _("合同须经计财部审核通过后才能签约盖章。")
    return False, conflict(message, "review", code=DealError.CONTRACT_NOT_REVIEWED)


def contract_submit_review(*, actor, deal: Deal, note: str = "") -> ApprovalRequest:
    """Submit the drafted contract to finance (计财部审核, seed 001): a request of the
    approval engine at the level ``contract.review``, carrying the template version and
    the digest of the fields it approves."""
    from loupan.approvals import services as approvals

    rules.ensure(can_submit_review(actor, deal))
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        rules.ensure(can_submit_review(actor, deal))
        if deal.clauses.filter(approved=False, rejected=False).exists():
            raise conflict(
                _("还有特殊条款未经销售总监批准，不能提交审核。"),
                "clauses",
                DealError.CLAUSES_PENDING,
            )
        template = active_template(deal.project)
        if template is None:
            raise conflict(
                _("本项目还没有启用的合同模板，请先上传。"),
                "template",
                code=DealError.TEMPLATE_MISSING,
            )
        return approvals.approval_request(
            actor=actor,
            project=deal.project,
            subject=deal,
            kind=ApprovalKind.CONTRACT_REVIEW,
            payload={
                "template": template.pk,
                "version": template.version,
                "digest": digest_of(deal, template),
                "total": str(deal.total),
            },
            reason=(note or "").strip() or str(_("提交计财部审核合同")),
            final="contract.review",
            level="contract.review",
            busy=(_("该合同已在计财部审核中。"), "review"),
        )


def apply_review(*, actor, request, approved: bool) -> None:
    """Nothing to write on the deal: signing reads the decision (``reviewed``); a
    refusal's reason is the request's, shown on the deal until it is submitted again."""


# --- supplementary agreements 补充协议 ----------------------------------------------------

SUPPLEMENT_FROM = (DealStatus.SUBSCRIBED, DealStatus.CONTRACTED)


def can_add_supplement(user, deal) -> rules.Answer:
    return rules._check(
        rules.own_or(user, deal, "deal.contract"),
        "deal.contract",
        deal.status in SUPPLEMENT_FROM,
        _("交易当前为「%(s)s」，只有认购或签约的交易可以增加补充协议。")
        % {"s": deal.get_status_display()},
    )


def supplement_add(
    *,
    actor,
    deal: Deal,
    title: str,
    upload=None,
    text: str = "",
    replaces: Supplement | None = None,
    note: str = "",
) -> Supplement:
    """A supplementary agreement, numbered next in the deal (locked): the signed file
    uploaded (PDF, image or .docx), or generated from the project's active supplement
    template with ``text``. ``replaces``: a current agreement of the deal it
    supersedes (kept, never deleted)."""
    rules.ensure(can_add_supplement(actor, deal))
    title = (title or "").strip()
    if not title:
        raise invalid("title", _("请填写协议名称"))
    if len(title) > 100:
        raise invalid("title", _("协议名称不能超过 100 个字"))
    if upload is None and not (text or "").strip():
        raise invalid("file", _("请上传协议文件，或填写条款内容按模板生成"))
    if upload is not None:
        try:
            extension = validate_document(upload, allowed=("pdf", "png", "jpg", "jpeg", "docx"))
            if extension == "docx":
                validate_docx(upload)
        except ValidationError as exc:
            raise invalid("file", exc.messages[0], code=_file_code(exc)) from exc
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        rules.ensure(can_add_supplement(actor, deal))
        if replaces is not None:
            replaces = (
                Supplement.objects.select_for_update().filter(deal=deal, pk=replaces.pk).first()
            )
            if replaces is None:
                raise invalid("replaces", _("要替代的补充协议不属于该交易"))
            if Supplement.objects.filter(replaces=replaces).exists():
                raise conflict(
                    _("该补充协议已被替代，请选择当前有效的协议。"),
                    "replaces",
                    DealError.SUPERSEDED,
                )
        seq = (
            Supplement.objects.filter(deal=deal).order_by("-seq").values_list("seq", flat=True)
        ).first() or 0
        seq += 1
        base = deal.contract_number or deal.number
        number = f"{base}-BC{seq:02d}"
        supplement = Supplement(
            project=deal.project,
            deal=deal,
            seq=seq,
            number=number,
            title=title,
            replaces=replaces,
            note=(note or "").strip()[:300],
            created_by=actor,
            created_at=timezone.now(),
        )
        if upload is not None:
            supplement.source = DocumentSource.UPLOADED
            supplement.file.save(
                f"{deal.project_id}/{deal.pk}-{seq}.{extension}", upload, save=False
            )
        else:
            template = active_template(deal.project, TemplateKind.SUPPLEMENT)
            if template is None:
                raise conflict(
                    _("本项目还没有启用的补充协议模板，请上传协议文件。"),
                    "template",
                    code=DealError.TEMPLATE_MISSING,
                )
            from django.core.files.base import ContentFile

            # the stored agreement is the office's copy: numbers in full
            content = render(
                template,
                context_of(
                    deal,
                    None,
                    supplement_number=number,
                    supplement_title=title,
                    supplement_text=text.strip(),
                ),
            )
            supplement.source, supplement.template = DocumentSource.GENERATED, template
            supplement.file.save(
                f"{deal.project_id}/{deal.pk}-{seq}.docx", ContentFile(content), save=False
            )
        try:
            with transaction.atomic():
                supplement.save()
        except IntegrityError as exc:  # a second writer took the number first
            raise conflict(_("补充协议编号冲突，请重试。"), "seq") from exc
        audit_create(
            actor=actor, obj=supplement, extra={"replaces": replaces.number if replaces else ""}
        )
    return supplement


def can_see_documents(user, deal) -> bool:
    """The contract's papers (scan, supplements): as the contract scan."""
    return rules.can_see_scan(user, deal) or access.has_perm(
        user, "contract.review", deal.project_id
    )


def supplements_of(deal: Deal) -> list[Supplement]:
    return list(
        Supplement.objects.filter(deal=deal)
        .select_related("created_by", "replaces", "replaced_by")
        .order_by("seq")
    )
