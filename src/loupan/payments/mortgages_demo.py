"""The demo office's mortgages (called by payments/demo.py): issue 13 "Done when" asks
for mortgages in every stage."""

import datetime

from django.utils import timezone

from loupan.deals.models import Deal

from . import mortgages as m
from .models import LoanType, Mortgage, RejectionNext

# bank, commercial rate (%), the stage to reach, days ago the file was opened
PLAN = [
    ("中国工商银行", "3.50", "disbursed", 40),
    ("中国建设银行", "3.45", "approved", 30),
    ("招商银行", "3.55", "submitted", 20),
    ("中国农业银行", "3.50", "rejected", 25),
    ("中国银行", "3.50", "collecting", 5),
]


def demo_mortgages(context: dict) -> None:
    """On the main project's live deals paid by a loan, one mortgage per stage: 资料收集
    (half the documents in), 已递交银行, 审批通过, 已放款 (finance records the bank's
    disbursement, a receipt of method 按揭放款), and 拒贷 (with what happens next). Built
    only once; a project with fewer loan deals gets the first stages only."""
    project, users = context["main"], context["users"]
    if Mortgage.objects.filter(project=project).exists():
        return
    deals = list(
        Deal.objects.filter(
            project=project, status__in=m.rules.PAYING, payment_method__in=m.LOAN_METHODS
        )
        .exclude(approvals__status="pending")
        .select_related("project", "consultant")
        .order_by("pk")
        .distinct()
    )
    today = timezone.localdate()
    for deal, (bank, rate, stage, days) in zip(deals, PLAN, strict=False):
        actor = deal.consultant
        if not m.can_manage(actor, deal)[0]:
            actor = users["salesadmin"]
        opened = today - datetime.timedelta(days=days)
        # the loan the schedule expects from the bank (at most the cap)
        amount = min(m.loan_owed(deal), m.loan_cap(deal)) or m.loan_cap(deal)
        mortgage = m.mortgage_open(
            actor=actor,
            deal=deal,
            bank=bank,
            loan_type=LoanType.COMMERCIAL,
            commercial_amount=amount,
            years=30,
            commercial_rate=rate,
            follower=users["salesadmin"],
            note="演示数据",
        )
        opened_at = timezone.make_aware(datetime.datetime.combine(opened, datetime.time(10)))
        Mortgage.objects.filter(pk=mortgage.pk).update(stage_since=opened_at)
        mortgage.events.update(at=opened_at)
        mortgage.refresh_from_db()
        names = [d["name"] for d in mortgage.documents]
        if stage == "collecting":
            names = names[: len(names) // 2]
        for name in names:
            m.mortgage_check_document(actor=actor, mortgage=mortgage, name=name, done=True)
        if stage == "collecting":
            continue
        step = max(days // 4, 1)
        mortgage = m.mortgage_move(
            actor=actor,
            mortgage=mortgage,
            to_stage="submitted",
            on=opened + datetime.timedelta(days=step),
            note="资料齐全，已递交银行",
        )
        if stage == "submitted":
            continue
        if stage == "rejected":
            m.mortgage_move(
                actor=actor,
                mortgage=mortgage,
                to_stage="rejected",
                on=opened + datetime.timedelta(days=2 * step),
                note="征信查询次数过多",
                rejection_next=RejectionNext.OTHER_BANK,
            )
            continue
        mortgage = m.mortgage_move(
            actor=actor,
            mortgage=mortgage,
            to_stage="approved",
            on=opened + datetime.timedelta(days=2 * step),
            note="银行审批通过",
        )
        if stage == "disbursed":
            m.mortgage_disburse(
                actor=users["finance"],
                mortgage=mortgage,
                amount=mortgage.loan_total,
                paid_on=opened + datetime.timedelta(days=3 * step),
                bank_reference=f"FK{today:%Y%m}{deal.pk:06d}",
            )
