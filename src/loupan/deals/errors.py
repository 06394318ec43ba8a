"""The deals' own error codes (as Saleor's ``error_codes.py``): specific enough that a
client or a test can act on them, rendered in the one error shape of ``core.errors``."""

from django.utils.translation import gettext_lazy as _

from loupan.core.errors import Code


class DealError(Code):
    DEPOSIT_OVER_CAP = "deposit_over_cap", 400, _("定金超过上限（民法典第586条）")
    DISCOUNT_BEYOND_AUTHORITY = (
        "discount_beyond_authority",
        400,
        _("折扣超出您的权限或低于最低限价，须填写申请理由提交上级审批"),
    )
    RESERVATION_EXPIRED = "reservation_expired", 409, _("保留单已过期")
    UNIT_NOT_OPEN_FOR_SALE = "unit_not_open_for_sale", 409, _("房间当前不可售")
    CLAUSES_PENDING = "clauses_pending", 409, _("还有特殊条款未经批准")
    CHANGE_PENDING = "change_pending", 409, _("该交易已有变更申请在审批")
    CONTRACT_NUMBER_TAKEN = "contract_number_taken", 400, _("合同编号已被使用")
    # the contract's documents (contracts.py)
    FILE_TYPE = "file_type", 400, _("文件类型不符合要求")
    FILE_SIZE = "file_size", 400, _("文件过大")
    FILE_CONTENT = "file_content", 400, _("文件内容与扩展名不符")
    TEMPLATE_SYNTAX = "template_syntax", 400, _("模板中的占位符写法有误")
    UNKNOWN_PLACEHOLDER = "unknown_placeholder", 400, _("模板中有系统不认识的占位符")
    TEMPLATE_MISSING = "template_missing", 409, _("本项目还没有启用的合同模板")
    CONTRACT_NOT_REVIEWED = "contract_not_reviewed", 409, _("合同须经计财部审核通过后才能签约")
    SUPERSEDED = "superseded", 409, _("该补充协议已被替代")
