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

import io

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loupan.accounts import access
from loupan.approvals.models import ApprovalRequest, ApprovalStatus
from loupan.audit.models import AuditAction
from loupan.audit.services import audit_create, audit_record, audit_update
from loupan.core.errors import ErrorCode, conflict, invalid
from loupan.core.snapshot import snapshot
from loupan.core.uploads import validate_document, validate_docx

from . import rules
from .documents import (
    PLACEHOLDERS,
    VOLATILE,
    Placeholder,
    active_template,
    context_of,
    digest_of,
    placeholders_of,
    review_of,
    review_state,
)
from .errors import DealError
from .models import (
    ApprovalKind,
    ContractTemplate,
    Deal,
    DocumentSource,
    Supplement,
    TemplateKind,
)


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


# --- the deal's fields ------------------------------------------------------------------


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


# --- printing ---------------------------------------------------------------------------


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
    rules.ensure(rules.can_print(actor, deal))
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


def contract_submit_review(*, actor, deal: Deal, note: str = "") -> ApprovalRequest:
    """Submit the drafted contract to finance (计财部审核, seed 001): a request of the
    approval engine at the level ``contract.review``, carrying the template version and
    the digest of the fields it approves."""
    from loupan.approvals import services as approvals

    rules.ensure(rules.can_submit_review(actor, deal))
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        rules.ensure(rules.can_submit_review(actor, deal))
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
    rules.ensure(rules.can_add_supplement(actor, deal))
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
        rules.ensure(rules.can_add_supplement(actor, deal))
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


def supplements_of(deal: Deal) -> list[Supplement]:
    return list(
        Supplement.objects.filter(deal=deal)
        .select_related("created_by", "replaces", "replaced_by")
        .order_by("seq")
    )


# read by the pages and the API from here, beside the services
__all__ = [
    "PLACEHOLDERS",
    "VOLATILE",
    "Placeholder",
    "active_template",
    "context_of",
    "digest_of",
    "placeholders_of",
    "review_of",
    "review_state",
]
