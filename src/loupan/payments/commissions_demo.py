"""The demo office's commissions (called by payments/demo.py after the plans and the
mortgages; the receipts beyond the deposits must already be in the ledger for a deal to
reach its first stage)."""

import datetime

from django.utils import timezone

from loupan.deals.models import Deal, DealStatus

from . import commissions as c
from .models import CommissionAssist, CommissionStatement, StatementStatus

DEMO_STAGES = [
    {"name": "回款达30%", "event": "received_pct", "threshold_pct": "30", "share_pct": "70"},
    {"name": "贷款放款", "event": "loan_disbursed", "threshold_pct": None, "share_pct": "20"},
    {"name": "交付", "event": "delivered", "threshold_pct": None, "share_pct": "10"},
]


def demo_commissions(context: dict) -> None:
    """The main project's plan (3‰ of the contract amount: 70% when 30% of the price is
    received, 20% at loan disbursement, 10% at delivery; an assisting colleague takes
    30%), an assisting colleague on one contracted deal, the daily job, last month's and
    this month's statements, and one statement confirmed by the manager. Idempotent:
    each part is made only when missing."""
    project, users = context["main"], context["users"]
    manager = users["manager"]
    if c.plan_of(project) is None:
        c.commission_plan_set(
            actor=users["director"],
            project=project,
            rate_permille="3",
            assist_share_pct="30",
            stages=DEMO_STAGES,
        )
    if not CommissionAssist.objects.filter(deal__project=project).exists():
        deal = (
            Deal.objects.filter(
                project=project, status=DealStatus.CONTRACTED, consultant=users["consultant"]
            )
            .order_by("pk")
            .first()
        )
        if deal is not None:
            c.commission_assist_set(actor=manager, deal=deal, colleague=users["consultant2"])
    c.commissions_due()
    this_month = timezone.localdate().replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    for month in (last_month, this_month):
        c.statement_build(actor=manager, project=project, month=month)
    if not CommissionStatement.objects.filter(
        project=project, status=StatementStatus.CONFIRMED
    ).exists():
        draft = (
            CommissionStatement.objects.filter(
                project=project, status=StatementStatus.DRAFT, entries__isnull=False
            )
            .exclude(consultant=manager)
            .order_by("month", "pk")
            .first()
        )
        if draft is not None:
            c.statement_confirm(actor=manager, statement=draft)
