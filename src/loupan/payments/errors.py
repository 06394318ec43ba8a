"""Payments' own error codes, rendered in the one error shape of ``core.errors``."""

from django.utils.translation import gettext_lazy as _

from loupan.core.errors import Code


class PaymentError(Code):
    DAY_CLOSED = "day_closed", 409, _("该日已日结（或待复核），不能再记入")
    OVERPAID = "overpaid", 400, _("金额超过该款项的未收金额")
    SCHEDULE_SUM = "schedule_sum", 400, _("付款计划合计须等于成交总价")
    DOWN_PAYMENT_TOO_LOW = "down_payment_too_low", 400, _("首付款低于项目最低首付比例")
    NO_RECEIPT_FORM = "no_receipt_form", 409, _("收据本已用完")
    BOOK_OVERLAP = "book_overlap", 400, _("号段与已发放的收据本重叠")
    ALREADY_REVERSED = "already_reversed", 409, _("该收据已红冲")
    SAME_REVIEWER = "same_reviewer", 403, _("日结须由另一人复核")
    CASH_MISMATCH = "cash_mismatch", 400, _("实点现金与应有现金不符")
    NO_SCHEDULE = "no_schedule", 409, _("该交易还没有付款计划")
    STATEMENT_CONFIRMED = "statement_confirmed", 409, _("结佣函已确认")
    NOTHING_HELD = "nothing_held", 409, _("该客户没有暂收的诚意金")
    NO_PRESALE_PERMIT = "no_presale_permit", 409, _("项目尚未取得预售许可证，不能收取任何款项")
