from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DealsConfig(AppConfig):
    name = "loupan.deals"
    label = "deals"
    verbose_name = "交易"

    def ready(self):
        from loupan.approvals import kinds
        from loupan.audit import presenting
        from loupan.core import due, numbering

        from . import changes, contracts, rules, services
        from .filters import DealFilterSet
        from .models import ApprovalKind, Deal

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

        # The demo office's deals (``loupan demo``), last.
        from loupan.core import demo as demo_office

        from . import demo

        demo_office.register("deals", demo.demo_deals, order=50)
