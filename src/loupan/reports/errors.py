"""Reports' own error codes, rendered in the one error shape of ``core.errors``."""

from django.utils.translation import gettext_lazy as _

from loupan.core.errors import Code


class ReportError(Code):
    DAY_OPEN = "day_open", 409, _("当日日报尚未截止")
    ALREADY_CONFIRMED = "already_confirmed", 409, _("该日日报已确认")
    PAGE_INVALID = "page_invalid", 400, _("分页参数有误")
