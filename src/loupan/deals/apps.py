from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealsConfig(AppConfig):
    name = "loupan.deals"
    label = "deals"
    verbose_name = "交易"

    def ready(self):

        from loupan.approvals import kinds
        from loupan.audit import presenting
        from loupan.core import codelists, due, numbering

        from . import changes, contracts, rules, services
        from .filters import DealFilterSet
        from .models import ApprovalKind, CancelReason, Deal

        # 退房原因 (seed 002 二.3(4)): the office adds its own reasons on top of these
        codelists.register("cancel_reason", _("退房原因"), system=CancelReason.choices, order=40)

        due.register(
            "deals", services.process_due, order=10, labels={"reservations_expired": "保留单到期"}
        )
        # 保留单 BL-, 认购书 RG-, 合同 HT- (gapless per project, core.numbering)
        for kind, prefix in (("reservation", "BL"), ("subscription", "RG"), ("contract", "HT")):
            numbering.register(kind, prefix)
        # What a deal asks approval for, and what a decision does (the approval engine);
        # the chain is the roles of LOUPAN_APPROVAL_CHAIN, deciders hold deal.approve.
        for code, apply in (
            (ApprovalKind.DISCOUNT, services.apply_discount),
            (ApprovalKind.CLAUSE, services.apply_clause),
            (ApprovalKind.EXCHANGE, changes.apply_exchange),
            (ApprovalKind.RENAME, changes.apply_rename),
            (ApprovalKind.CANCEL, changes.apply_cancel),
        ):
            kinds.register(
                kinds.Kind(
                    code=code,
                    label=ApprovalKind(code).label,
                    apply=apply,
                    view_perm="deal",
                    decide_perms=("deal.approve",),
                    levels=lambda project: rules.chain(),
                    card_template="deals/parts/approval_card.html",
                    subjects=lambda: Deal.objects.select_related("unit", "customer", "consultant"),
                )
            )

        # The supervisor's 主管复审 of a day's reservations, subscriptions and contracts
        # (seed 001 三(四)3), signed off through the signoffs engine with deal.review; due
        # by default the next morning at 10:00, with the 晨检 (a project setting).
        import datetime

        from loupan.signoffs import kinds as signoff_kinds

        from . import selectors

        signoff_kinds.register(
            signoff_kinds.Kind(
                code=selectors.REVIEW_SIGNOFF,
                label=_("主管复审"),
                perm="deal.review",
                days_after=1,
                at=datetime.time(10, 0),
                figures=selectors.day_figures,
                active_days=selectors.deal_days,
                figure_labels=selectors.figure_labels,
                url=lambda project_pk, day: (
                    f"/projects/{project_pk}/deals/review/?date={day:%Y-%m-%d}"
                ),
            )
        )

        # 计财部审核: finance reviews the drafted contract before it is signed and sealed
        # (seed 001 签约管理 2), a level named by the permission, never the requester.
        kinds.register(
            kinds.Kind(
                code=ApprovalKind.CONTRACT_REVIEW,
                label=ApprovalKind.CONTRACT_REVIEW.label,
                apply=contracts.apply_review,
                view_perm="deal",
                decide_perms=("contract.review",),
                levels=lambda project: ["contract.review"],
                holds=kinds.holds_perm,
                level_label=lambda level: str(_("计财部")),
                self_decide=False,
                card_template="deals/parts/approval_card.html",
                subjects=lambda: Deal.objects.select_related("unit", "customer", "consultant"),
            )
        )

        # the office's lists' exports as the audit trail reads them
        presenting.register_export("deals.deal", filterset=DealFilterSet)

        # ... and as they leave under the manager's consent (seed 002 客户信息管理制度 5.1)
        from loupan.core.pages import list_builder, query_builder
        from loupan.customers import exports as customer_exports

        from . import reports as deal_reports
        from .views import lists

        for code, view in lists.EXPORTABLE.items():
            build, clean = list_builder(view)
            customer_exports.register_list(
                code, label=view.report, may=deal_reports.may_export, build=build, clean=clean
            )
        build, clean = query_builder(lists.changes_export, lists.changes_check)
        customer_exports.register_list(
            "deals.changes",
            label=_("客户换房、退房一览表"),
            may=deal_reports.may_export,
            build=build,
            clean=clean,
        )

        # The demo office's deals (``loupan demo``), last.
        from loupan.core import demo as demo_office

        from . import demo

        demo_office.register("deals", demo.demo_deals, order=50)

        # Its pages in the navigation (``core.navigation``).
        from loupan.core import navigation as nav

        nav.group("deals", _("交易"), order=30)
        for order, (name, label, dom_id) in enumerate(
            [
                ("deals:deal_list", _("全部交易"), "nav-deals"),
                ("deals:deal_unsigned", _("未签约客户一览表"), ""),
                ("deals:deal_ledger", _("契约签署一览表"), ""),
                ("deals:deal_special", _("特殊优惠客户一览表"), ""),
                ("deals:deal_owners", _("业主登记一览表"), ""),
                ("deals:deal_changes", _("客户换房、退房一览表"), ""),
                ("deals:deal_review", _("主管复审"), "nav-deal-review"),
                ("deals:deal_settings", _("交易设置"), ""),
            ]
        ):
            nav.register(name, label, group="deals", order=order, dom_id=dom_id)
