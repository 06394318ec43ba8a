"""The customers' own error codes (core.errors.Code: value, HTTP status, default message),
rendered in the one error shape ``{"code", "message", "fields"}``. A refusal without a
code of its own here is core's ``invalid`` or ``conflict``."""

from django.utils.translation import gettext_lazy as _

from loupan.core.errors import Code


class CustomerError(Code):
    # 撞单: the number or ID number belongs to a live customer already (seed 002).
    CUSTOMER_EXISTS = "customer_exists", 409, _("该客户已登记")
    # A consultant files a second 撞单 claim on the same customer.
    CLAIM_EXISTS = "claim_exists", 409, _("您已提交过该客户的撞单申请，请等待主管处理。")
    # The supervisor decides a claim that is decided already.
    CLAIM_DECIDED = "claim_decided", 409, _("该申请已处理。")
    # Erasing a customer whose personal data is erased already.
    CUSTOMER_ANONYMIZED = "customer_anonymized", 409, _("该客户已匿名化。")
    # The project wants the manager's written consent for a customer export.
    EXPORT_NEEDS_APPROVAL = (
        "export_needs_approval",
        409,
        _("本项目导出客户数据须经理书面同意：请填写导出理由提交申请。"),
    )
    # An approved export is downloaded once; a second download is refused.
    EXPORT_DOWNLOADED = (
        "export_downloaded",
        409,
        _("该导出已下载过，不能再次下载；如需再次导出请重新申请。"),
    )
    # Not (or no longer) approved: pending, rejected or withdrawn.
    EXPORT_NOT_APPROVED = "export_not_approved", 409, _("该导出申请未获批准，不能下载。")

    # 意向户型 is one of the project's layouts, or 其他 with the layout in words.
    LAYOUT_UNKNOWN = "layout_unknown", 400, _("请选择本项目的户型，或选择“其他”并填写。")
