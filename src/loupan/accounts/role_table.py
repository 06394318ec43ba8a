"""The roles of PRODUCT.md ("Who uses it", seeds 001 and 003) and what each may do.

System roles are data (``Role`` rows an administrator sees in the UI) whose permission
sets follow this table after every ``migrate``. Least privilege (seed 004 四(一)): a role
gets only what its job in the sales office needs.
"""

from django.utils.translation import gettext_lazy as _

ALL_STAFF = ["project.view"]
# The board is confidential (seed 000): sales staff only, never customers.
BOARD = ["unit.view"]
PRICING = ["unit.view_floor_price", "pricelist.view"]
# Sales leads: every deal of the project, their own deals, approvals within their level.
DEAL_LEAD = ["deal.view", "deal.add", "deal.approve"]
# Sales leads and money: every deal's money, approve reversals, deferrals and reopened
# days, the payment settings, the commission plan and its monthly statements.
# Leads and after sales: every owner's after-sales file, escalated complaints, the
# categories' deadlines and the questionnaires.
SERVICE_LEAD = ["aftersales.view", "aftersales.manage", "aftersales.configure"]
# Sales leads and reports: every figure of the project, the daily report's review, the
# targets, the settings of the scheduled reports and of the compliance checks.
# Sales leads and opening day: prepare the event, confirm buyers, run the draw.
OPENING_LEAD = ["opening.view", "opening.manage", "opening.pick"]
REPORT_LEAD = ["report.view", "report.confirm", "report.target", "report.configure"]
# Sales leads and the supervisor's sign-offs: see who signed what and what is late, set
# the deadlines.
SIGNOFF_LEAD = ["signoff.view", "signoff.configure"]
MONEY_LEAD = [
    "payment.view",
    "payment.collect",
    "payment.approve",
    "payment.configure",
    "mortgage.manage",
    "commission.view",
    "commission.confirm",
    "commission.configure",
]

SYSTEM_ROLES: list[dict] = [
    {
        "code": "director",
        "name": _("销售总监"),
        "description": _("目标与策略，审批特殊合同条款和最大幅度的折扣"),
        "permissions": ALL_STAFF
        + BOARD
        + PRICING
        + [
            "project.change",
            "user.view",
            "role.view",
            "audit.view",
            "unit.release",
            "unit.hold",
            "unit.export",
            "pricelist.approve",
            "pricelist.approve_any",
        ]
        + [
            "customer.view",
            "customer.add",
            "customer.assign",
            "customer.reveal",
            "customer.export",
            "customer.resolve",
            "customer.export_approve",
            "roster.manage",
            "codelist.manage",
        ]
        + DEAL_LEAD
        + ["deal.contract", "deal.configure", "deal.review"]
        + SIGNOFF_LEAD
        + MONEY_LEAD
        + SERVICE_LEAD
        + ["calendar.manage"]
        + REPORT_LEAD
        + ["report.spend"]
        + OPENING_LEAD,
    },
    {
        "code": "manager",
        "name": _("销售经理"),
        "description": _("销控计划、调价申请、合同审核、周例会数据、月度结佣"),
        "permissions": ALL_STAFF
        + BOARD
        + PRICING
        + ["user.view", "unit.release", "unit.hold", "unit.export", "pricelist.approve"]
        + [
            "customer.view",
            "customer.add",
            "customer.assign",
            "customer.reveal",
            "customer.export",
            "customer.resolve",
            "customer.export_approve",
            "roster.manage",
            "codelist.manage",
        ]
        + DEAL_LEAD
        + ["deal.contract", "deal.configure", "deal.review"]
        + SIGNOFF_LEAD
        + MONEY_LEAD
        + ["payment.review"]
        + SERVICE_LEAD
        + REPORT_LEAD
        + ["report.spend"]
        + OPENING_LEAD,
    },
    {
        "code": "supervisor",
        "name": _("销售主管"),
        "description": _("排班、每日核查来电来访、检查销控、复核当日认购与签约、日报"),
        "permissions": ALL_STAFF
        + BOARD
        + ["user.view"]
        + ["customer.view", "customer.add", "customer.assign", "customer.reveal", "roster.manage"]
        + DEAL_LEAD
        + ["deal.review", "signoff.view"]
        + ["payment.view", "payment.collect", "mortgage.manage"]
        + ["aftersales.view"]
        + ["report.view", "report.confirm"]
        + OPENING_LEAD,
    },
    {
        "code": "consultant",
        "name": _("置业顾问"),
        "description": _("登记与跟进自己的客户，保留、认购、签约，催缴房款"),
        "permissions": ALL_STAFF
        + BOARD
        + ["customer.view_own", "customer.add"]
        + ["deal.view_own", "deal.add"]
        + ["payment.view_own", "payment.collect", "mortgage.manage", "commission.view_own"]
        + ["aftersales.view_own"]
        + ["report.view_own"]
        + ["opening.view", "opening.pick"],
    },
    {
        "code": "sales_admin",
        "name": _("销售内勤"),
        "description": _("销控表与保留、单据编号、合同台帐、客户档案"),
        "permissions": ALL_STAFF
        + BOARD
        + ["unit.release", "unit.hold", "unit.export", "pricelist.view"]
        + ["customer.view", "customer.reveal", "customer.export", "codelist.manage"]
        + ["deal.view", "deal.contract"]
        + ["payment.view", "mortgage.manage"]
        + ["aftersales.view", "aftersales.manage"]
        + ["report.view"]
        + OPENING_LEAD,
    },
    {
        "code": "finance",
        "name": _("财务"),
        "description": _("确认定金与房款、开收据、退款、按揭对账、日清日结"),
        "permissions": ALL_STAFF
        + BOARD
        + ["customer.view", "deal.view", "deal.confirm", "contract.review"]
        + ["payment.view", "payment.record", "payment.review", "payment.collect"]
        + ["mortgage.manage", "commission.view"]
        + ["aftersales.view"]
        + ["report.view", "opening.view"],
    },
    {
        "code": "planner",
        "name": _("策划"),
        "description": _("录入房源、制定价格方案、提出并执行调价"),
        "permissions": ALL_STAFF
        + BOARD
        + PRICING
        + ["unit.change", "unit.export", "pricelist.change"]
        + ["report.view", "report.spend"],
    },
    {
        "code": "service",
        "name": _("客服"),
        "description": _("交付、权证、投诉、满意度调查、业主档案"),
        "permissions": ALL_STAFF
        + ["customer.view", "customer.reveal", "deal.view", "payment.view"]
        + SERVICE_LEAD,
    },
    {
        "code": "sysadmin",
        "name": _("系统管理员"),
        "description": _("用户、角色、项目授权、备份"),
        "permissions": ALL_STAFF
        + [
            "project.add",
            "project.change",
            "project.delete",
            "user.view",
            "user.manage",
            "role.view",
            "audit.view",
            "calendar.manage",
        ],
    },
    {
        "code": "auditor",
        "name": _("审计"),
        "description": _("只读查看看板与审计日志"),
        "permissions": ALL_STAFF
        + BOARD
        + ["user.view", "role.view", "audit.view", "audit.export"]
        + ["customer.view", "deal.view", "payment.view", "commission.view", "signoff.view"]
        + ["aftersales.view"]
        + ["report.view", "opening.view"],
    },
]

ROLE_CODES = [r["code"] for r in SYSTEM_ROLES]


def role_label(code: str) -> str:
    """A role code's name in the current language (the code itself when unknown)."""
    for spec in SYSTEM_ROLES:
        if spec["code"] == code:
            return str(spec["name"])
    return code
