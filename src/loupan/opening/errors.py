"""Opening day's own error codes, rendered in the one error shape of ``core.errors``."""

from django.utils.translation import gettext_lazy as _

from loupan.core.errors import Code


class OpeningError(Code):
    EVENT_STATUS = "event_status", 409, _("活动当前状态不能这样办理")
    NO_PERMIT = "no_permit", 409, _("房间尚无预售许可证，不能收取任何费用")
    ENTRY_EXISTS = "entry_exists", 409, _("该客户或其家庭已认筹")
    NOT_QUALIFIED = "not_qualified", 409, _("购房资格尚未确认")
    NOT_YOUR_TURN = "not_your_turn", 409, _("不在您的选房时间内")
    QUOTA_REACHED = "quota_reached", 409, _("已达到每户限选套数")
    UNIT_TAKEN = "unit_taken", 409, _("该房间已被选")
    NOT_IN_EVENT = "not_in_event", 400, _("该房间不在本次开盘房源中")
    LIST_CHANGED = "list_changed", 409, _("名单已冻结")
    TOO_FAST = "too_fast", 429, _("操作过于频繁，请稍后再试")
    ADDRESS_TOO_FAST = "address_too_fast", 429, _("同一网络地址的选房请求过于频繁，请稍后再试")
    CODE_INVALID = "code_invalid", 400, _("认筹号或选房码不正确")
    CODE_LOCKED = "code_locked", 429, _("选房码错误次数过多，请到现场核验身份")
    STREAMS_FULL = "streams_full", 503, _("实时推送连接已满，请改为定时刷新")
    SEED_MISMATCH = "seed_mismatch", 409, _("种子与承诺不符")
