from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "loupan.payments"
    label = "payments"
    verbose_name = "收款"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from loupan.approvals import kinds
        from loupan.core import demo as demo_office
        from loupan.core import due, numbering
        from loupan.core.pages import list_builder
        from loupan.customers import exports as customer_exports
        from loupan.deals import ports

        from . import (
            arrears,
            closing,
            commissions,
            demo,
            money_views,
            mortgages,
            rules,
            schedule,
            services,
            sincerity,
        )
        from .models import DayClose, Method, Receipt
        from .mortgages_views import MortgageList

        # 按揭进度表 names the customers: it leaves under the manager's consent where the
        # project asks it (seed 002 客户信息管理制度 5.1; ``customers.exports``)
        build, clean = list_builder(MortgageList)
        customer_exports.register_list(
            "payments.mortgages",
            label=MortgageList.export_report,
            may=mortgages.may_export,
            build=build,
            clean=clean,
        )
        # ... and so do the money lists (客户交款情况明细表, 收据, 收付款流水)
        for code, view in money_views.EXPORTABLE.items():
            build, clean = list_builder(view)
            customer_exports.register_list(
                code, label=view.export_report, may=rules.may_see_all, build=build, clean=clean
            )

        # a reversed disbursement sends its mortgage back to 审批通过
        services.REVERSAL_FOLLOWERS.append(mortgages.disbursement_reversed)
        # 收据 SJ- (gapless per project, core.numbering)
        numbering.register("receipt", "SJ")
        # Deals reads and writes its money through this port (deals imports no payments).
        ports.money.provide(
            received_of=services.received_of,
            methods=lambda: [(m.value, m.label) for m in Method if m not in (Method.CARRY,)],
            deposit_received=services.deposit_received,
            contracted=schedule.schedule_on_contract,
            exchanged=services.exchanged,
            refund_paid=services.refund_paid,
            schedule_of=lambda deal: [
                {"seq": i.seq, "name": i.name, "amount": i.amount, "due_date": i.due_date}
                for i in schedule.live_items(deal)
            ],
        )
        # What payments asks approval for: a red reversal, a deferred payment, a closed
        # day reopened — decided by whoever holds payment.approve (a level named by the
        # permission, as price lists are), never by the requester.
        from loupan.deals.models import Deal

        for code, label, apply, template, subjects in (
            (
                services.REVERSAL,
                _("红冲"),
                services.apply_reversal,
                "payments/parts/approval_reversal.html",
                lambda: Receipt.objects.select_related("deal", "deal__unit"),
            ),
            (
                arrears.DEFERRAL,
                _("延期付款"),
                arrears.apply_deferral,
                "payments/parts/approval_deferral.html",
                lambda: Deal.objects.select_related("unit", "customer", "consultant"),
            ),
            (
                closing.DAY_REOPEN,
                _("重开日结"),
                closing.apply_reopen,
                "payments/parts/approval_reopen.html",
                lambda: DayClose.objects.all(),
            ),
        ):
            kinds.register(
                kinds.Kind(
                    code=code,
                    label=label,
                    apply=apply,
                    view_perm="payment",
                    decide_perms=("payment.approve",),
                    levels=lambda project: ["payment.approve"],
                    holds=kinds.holds_perm,
                    level_label=lambda level: str(_("财务负责人")),
                    self_decide=False,
                    card_template=template,
                    subjects=subjects,
                )
            )
        due.register(
            "sincerity",
            sincerity.sincerity_return_due,
            order=15,
            labels={"sincerity_returned": "诚意金退回暂收"},
        )
        due.register(
            "arrears",
            arrears.arrears_find,
            order=40,
            labels={"arrears_opened": "新增逾期", "arrears_settled": "逾期结清"},
        )
        due.register(
            "commissions",
            commissions.commissions_due,
            order=45,
            labels={"commissions_earned": "新增佣金", "commissions_clawed": "佣金追回"},
        )
        demo_office.register("payments", demo.demo_payments, order=60)
        demo_office.register("payments.commissions", demo.demo_commissions, order=90)

        # The audit trail links these to their pages.
        from django.urls import reverse

        from loupan.audit import presenting

        def page(name):
            return lambda obj: reverse(f"payments:{name}", args=[obj.project_id, obj.pk])

        for label, name in (
            ("payments.receipt", "receipt_detail"),
            ("payments.mortgage", "mortgage_detail"),
            ("payments.commissionstatement", "commission_statement"),
        ):
            presenting.register(label, url=page(name))

        # Its pages in the navigation (``core.navigation``).
        from django.utils.translation import gettext_lazy as _

        from loupan.core import navigation as nav

        nav.group("payments", _("收款"), order=40)
        for order, (name, label, dom_id) in enumerate(
            [
                ("payments:detail_list", _("客户交款情况明细表"), "nav-payments"),
                ("payments:receipt_list", _("收据"), ""),
                ("payments:ledger", _("收付款流水"), ""),
                ("payments:collection", _("催款"), ""),
                ("payments:deferral_list", _("延期付款"), ""),
                ("payments:day_list", _("日清日结"), ""),
                ("payments:book_list", _("票据管理"), ""),
                ("payments:mortgage_list", _("按揭"), ""),
                ("payments:commission_list", _("佣金"), ""),
                ("payments:purchase_plan", _("置业计划"), ""),
                ("payments:payment_settings", _("收款设置"), ""),
            ]
        ):
            nav.register(name, label, group="payments", order=order, dom_id=dom_id)
        nav.register(
            "payments:calculator",
            _("房贷计算器"),
            group="payments",
            order=50,
            in_project=False,
            dom_id="nav-calculator",
        )

        # A day's sheet waits for the second person's review (日清日结): it counts in
        # 待我审批's badge.
        from loupan.approvals import kinds as approval_kinds

        from . import closing

        approval_kinds.register_waiting(
            approval_kinds.Waiting(
                code="day_close",
                label=_("日结复核"),
                may_decide=closing.may_review,
                count=lambda user, project: closing.days_to_review(user, project).count(),
                url_name="payments:day_list",
                order=20,
            )
        )
