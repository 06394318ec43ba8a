"""The start page: each role's part of the day in the current project (PRODUCT.md "Who
uses it"), live figures only (issue 12: no card that promises what does not exist); a
consultant's agenda comes from the customers app, what waits for the user's decision
from the approvals app. It sits above the apps, beside the URLs, since it reads more
than one of them."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from loupan.accounts import access
from loupan.aftersales import complaints as complaint_selectors
from loupan.aftersales import delivery as delivery_selectors
from loupan.aftersales import settlement as certificate_selectors
from loupan.approvals import services as approvals
from loupan.customers import selectors as customer_selectors
from loupan.payments import selectors as payment_selectors
from loupan.reports import dashboard as report_dashboard


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
    waiting = None
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
        if approvals.may_use_inbox(request.user, project):
            waiting = {
                "requests": approvals.pending_for(request.user, project).count(),
                "elsewhere": approvals.waiting_elsewhere(request.user, project),
            }
    return render(
        request,
        "home.html",
        {
            "roles": roles,
            "waiting": waiting,
            "agenda": day,
            "collection": collection,
            "service": service,
            "board": board,
        },
    )
