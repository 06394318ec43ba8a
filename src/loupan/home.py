"""The start page: each role's part of the day in the current project (PRODUCT.md "Who
uses it"); a consultant's agenda comes from the customers app. It sits above the apps,
beside the URLs, since it reads more than one of them."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from loupan.accounts import access
from loupan.aftersales import complaints as complaint_selectors
from loupan.aftersales import delivery as delivery_selectors
from loupan.aftersales import settlement as certificate_selectors
from loupan.customers import selectors as customer_selectors
from loupan.payments import selectors as payment_selectors
from loupan.reports import dashboard as report_dashboard

HOME_SECTIONS = {
    "consultant": _("今日跟进、即将过期的客户、催款"),
    "supervisor": _("昨日来电来访核查、排班、当日认购与签约复核"),
    "manager": _("销控计划、调价申请、合同审核、周报"),
    "director": _("目标、策略、特殊条款与大额折扣审批"),
    "sales_admin": _("销控表、保留、单据编号、合同台帐"),
    "finance": _("定金与房款确认、收据、退款、日清日结"),
    "planner": _("房源录入、价格方案、调价"),
    "service": _("交付、权证、投诉、维修、满意度调查、业主档案"),
    "sysadmin": _("用户、角色授权、项目设置、备份"),
    "auditor": _("审计日志与只读看板"),
}


def service_day(user, project) -> dict:
    """Customer service's part of the day: complaints past a deadline, repairs past
    their date, certificates waiting too long in a stage (all read, none written)."""
    complaints = complaint_selectors.complaints_of(user, project)
    return {
        "complaints": list(
            complaints.filter(complaint_selectors.overdue_q()).order_by("final_due")[:10]
        ),
        "repairs": list(delivery_selectors.overdue_repairs(user, project)[:10]),
        "certificates": certificate_selectors.certificate_reminders(user, project)[:10],
    }


@login_required
def home(request):
    """Each role's start page in the current project; a consultant's lists today's and
    overdue follow-ups, the customers whose ownership is about to expire and their own
    buyers' overdue payments to chase."""
    project = request.project if request.project else None
    roles = []
    day = None
    collection = None
    service = None
    board = None
    if project is not None:
        roles = [
            m.role for m in request.user.memberships.filter(project=project).select_related("role")
        ]
        if access.has_perm(request.user, "customer.add", project):
            day = customer_selectors.agenda(request.user, project)
        if access.has_perm(request.user, "payment.view_own", project):
            # a consultant's own buyers with money overdue (the collection list's first)
            collection = list(payment_selectors.collection_items(request.user, project)[:10])
        if access.has_perm(request.user, "aftersales.manage", project):
            service = service_day(request.user, project)
        board = report_dashboard.dashboard(request.user, project)
    sections = [(role, HOME_SECTIONS.get(role.code, "")) for role in roles]
    return render(
        request,
        "home.html",
        {
            "roles": roles,
            "sections": sections,
            "agenda": day,
            "collection": collection,
            "service": service,
            "board": board,
        },
    )
