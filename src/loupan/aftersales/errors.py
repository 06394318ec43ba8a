"""After sales' own error codes, rendered in the one error shape of ``core.errors``."""

from django.utils.translation import gettext_lazy as _

from loupan.core.errors import Code


class AftersalesError(Code):
    NOT_CONTRACTED = "not_contracted", 409, _("交易尚未签约")
    MONEY_OUTSTANDING = "money_outstanding", 409, _("还有未付清的房款或面积补差")
    NO_MEASURED_AREA = "no_measured_area", 409, _("该房间还没有实测面积")
    STAGE_TRANSITION = "stage_transition", 409, _("当前阶段不能这样办理")
    SLOT_FULL = "slot_full", 409, _("该时段预约已满")
    TOKEN_INVALID = "token_invalid", 400, _("链接无效或已过期")
    ALREADY_ANSWERED = "already_answered", 409, _("该问卷已经提交过")
