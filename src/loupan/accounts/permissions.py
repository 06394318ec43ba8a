"""The catalogue of permissions. A permission is a code ``<object>.<action>`` that a role
grants on a project scope (PRODUCT.md: every permission is a role on a project scope).

Later apps add their codes here, next to the objects they guard, and grant them to the
system roles in ``roles.py``.
"""

from django.utils.translation import gettext_lazy as _

PERMISSIONS: dict[str, str] = {
    # projects and their presale permits
    "project.view": _("查看项目"),
    "project.add": _("新建项目"),
    "project.change": _("修改项目与预售许可证"),
    "project.delete": _("删除项目"),
    # people
    "user.view": _("查看项目成员"),
    "user.manage": _("管理用户、角色授权与密码重置"),
    "role.view": _("查看角色与权限"),
    # inventory and the sales-control board (销控)
    "unit.view": _("查看房源与销控表"),
    "unit.view_floor_price": _("查看底价"),
    "unit.change": _("录入与编辑房源（生成、导入、批量修改）"),
    "unit.release": _("推盘（未推→可售）与设为未推"),
    "unit.hold": _("销控保留与释放、释放计划"),
    "unit.export": _("导出房源"),
    "pricelist.view": _("查看价格方案"),
    "pricelist.change": _("制定价格方案与调价"),
    "pricelist.approve": _("审批价格方案（限额内）"),
    "pricelist.approve_any": _("审批任何价格方案"),
    # customers (seed 002)
    "customer.view": _("查看本项目全部客户"),
    "customer.view_own": _("查看自己的客户与公客池"),
    "customer.add": _("登记客户、来电与来访"),
    "customer.assign": _("分配客户、处理撞单、离职交接"),
    "customer.reveal": _("查看完整手机号与身份证号"),
    "customer.export": _("导出客户名单"),
    "customer.export_approve": _("书面同意客户数据导出、设置导出须审批"),
    "customer.resolve": _("处理上报的问题客户"),
    "roster.manage": _("排班与来电来访核查"),
    # code lists the office keeps (issue 12): 认知途径, 职业, 跟进方式, 退房原因 …
    "codelist.manage": _("维护代码表（认知途径、职业、跟进方式、退房原因等）"),
    # deals (seed 001 销售案场管理/签约管理, seed 002 二.3–二.4)
    "deal.view": _("查看本项目全部交易"),
    "deal.view_own": _("查看自己的交易"),
    "deal.add": _("预留、认购、签约（本人客户）"),
    "deal.confirm": _("确认定金"),
    "deal.contract": _("合同台帐、网签备案与合同扫描件"),
    "contract.review": _("计财部审核合同"),
    "deal.approve": _("审批折扣、特殊条款、换房、更名、退房（按角色权限逐级）"),
    "deal.configure": _("设置折扣类型、折扣权限与交易期限"),
    "deal.review": _("主管复审当日保留单、认购书与合同并签核"),
    # payments (issue 13; seeds 000 出纳, 001 按揭办理/结佣, 002 二.5, 003 款项跟进)
    "payment.view": _("查看本项目全部收款、欠款与按揭"),
    "payment.view_own": _("查看自己交易的收款、欠款与按揭"),
    "payment.record": _("收款、开收据、退款、收据本、日结（出纳）"),
    "payment.review": _("复核日结（双重复核）"),
    "payment.approve": _("审批红冲、延期付款与重开日结"),
    "payment.collect": _("登记催款记录、申请延期付款"),
    "payment.configure": _("设置收款规则、滞纳金与税费标准"),
    "mortgage.manage": _("办理按揭（资料、递交、进度）"),
    "commission.view": _("查看本项目全部佣金"),
    "commission.view_own": _("查看自己的佣金"),
    "commission.confirm": _("确认月度结佣函"),
    "commission.configure": _("设置佣金方案与协助人"),
    # after sales (issue 14; seeds 001 七, 003, 004 三(四))
    "aftersales.view": _("查看本项目全部售后（交房、补差、权证、投诉、维修、调查）"),
    "aftersales.view_own": _("查看自己客户的售后（只读）"),
    "aftersales.manage": _("办理交房、面积补差、权证、投诉、维修与满意度调查"),
    "aftersales.configure": _("设置投诉类别与时限、问卷"),
    "calendar.manage": _("维护工作日历（节假日与调休）"),
    # opening day (issue 16)
    "opening.view": _("查看开盘活动、认筹与选房结果"),
    "opening.manage": _("筹备开盘：房源、认筹、资格确认、摇号、批次"),
    "opening.pick": _("为买受人代选房"),
    # reports (issue 15; seeds 001 一, 002 三, 004 五 六)
    "report.view": _("查看本项目全部报表与分析"),
    "report.view_own": _("查看自己的业绩与漏斗"),
    "report.confirm": _("审核确认销售日报"),
    "report.target": _("制定销售目标"),
    "report.spend": _("填报推广费用"),
    "report.configure": _("设置报表时间、收件人与考核标准"),
    # the supervisor's daily sign-offs (seed 001 三(一), 三(四)3)
    "signoff.view": _("查看主管签核（晨检、复审）与逾期"),
    "signoff.configure": _("设置主管签核期限"),
    # audit trail
    "audit.view": _("查看审计日志"),
    "audit.export": _("导出审计日志"),
}

GROUPS: list[tuple[str, str]] = [
    ("project", _("项目")),
    ("user", _("用户")),
    ("role", _("角色")),
    ("unit", _("房源与销控")),
    ("pricelist", _("价格方案")),
    ("customer", _("客户")),
    ("roster", _("排班")),
    ("codelist", _("代码表")),
    ("deal", _("交易")),
    ("payment", _("收款")),
    ("mortgage", _("按揭")),
    ("commission", _("佣金")),
    ("aftersales", _("售后")),
    ("calendar", _("工作日历")),
    ("opening", _("开盘")),
    ("report", _("报表")),
    ("signoff", _("主管签核")),
    ("audit", _("审计")),
]


def label(code: str) -> str:
    return str(PERMISSIONS.get(code, code))
