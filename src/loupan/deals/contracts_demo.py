"""The demo office's contract papers: a model contract and a supplement template made
with python-docx at demo time, finance's reviews (one approved and signed, one sent
back), and a supplementary agreement."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile

from loupan.approvals import services as approvals

from . import contracts
from .models import ContractTemplate, TemplateKind

CONTRACT_LINES = [
    "商品房买卖合同（预售）",
    "合同编号：{{ contract_number }}　认购书编号：{{ subscription_number }}",
    "出卖人：{{ seller_name }}（统一社会信用代码 {{ seller_credit_code }}）",
    "买受人：{{ buyer_names }}　证件号码：{{ buyer_id_numbers }}",
    "{%p for b in buyers %}",
    "买受人 {{ b.name }}，身份证号 {{ b.id_number }}，电话 {{ b.phone }}，份额 {{ b.share }}%",
    "{%p endfor %}",
    "第一条 房屋坐落：{{ unit_address }}（{{ project_name }}，预售许可证 {{ presale_permit }}）",
    "第二条 建筑面积 {{ gross_area }} 平方米，套内面积 {{ internal_area }} 平方米，{{ layout }}。",
    "第三条 总价款：人民币 {{ total }} 元（大写：{{ total_upper }}），{{ pricing_basis }}，"
    "单价 {{ unit_price }} 元。",
    "第四条 付款方式：{{ payment_method }}，定金 {{ deposit }} 元（{{ deposit_upper }}），"
    "首付款 {{ down_payment }} 元（{{ down_payment_upper }}）。",
    "{%p for p in schedule %}",
    "第 {{ p.seq }} 期 {{ p.name }}：{{ p.due_date }} 前支付 {{ p.amount }} 元（{{ p.amount_upper }}）",
    "{%p endfor %}",
    "第五条 交付日期：{{ delivery_date }}。",
    "{%p for c in clauses %}",
    "特殊条款：{{ c.text }}",
    "{%p endfor %}",
    "签约日期：{{ signed_on }}　打印日期：{{ today }}　置业顾问：{{ consultant }}",
]
SUPPLEMENT_LINES = [
    "补充协议 {{ supplement_number }}：{{ supplement_title }}",
    "出卖人：{{ seller_name }}　买受人：{{ buyer_names }}",
    "就 {{ unit_address }}（合同编号 {{ contract_number }}）双方约定如下：",
    "{{ supplement_text }}",
    "日期：{{ today }}",
]


def docx_of(lines) -> bytes:
    """A small .docx, one paragraph per line (python-docx)."""
    import docx

    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def demo_templates(project, users) -> None:
    for kind, name, lines in (
        (TemplateKind.CONTRACT, "商品房买卖合同（预售）示范文本", CONTRACT_LINES),
        (TemplateKind.SUPPLEMENT, "补充协议", SUPPLEMENT_LINES),
    ):
        if ContractTemplate.objects.filter(project=project, kind=kind).exists():
            continue
        contracts.template_upload(
            actor=users["salesadmin"],
            project=project,
            kind=kind,
            name=name,
            upload=SimpleUploadedFile(f"{kind}.docx", docx_of(lines)),
        )


def review(deal, users, approve: bool = True, reason: str = ""):
    """The contract desk submits, finance decides."""
    request = contracts.contract_submit_review(actor=users["salesadmin"], deal=deal)
    return approvals.approval_decide(
        actor=users["finance"], request=request, approve=approve, reason=reason
    )
