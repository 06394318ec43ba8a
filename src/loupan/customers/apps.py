from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "loupan.customers"
    label = "customers"
    verbose_name = "客户"

    def ready(self):
        from loupan.audit import presenting
        from loupan.core import due

        from . import services
        from .filters import CustomerFilterSet
        from .imports import REGISTER_SHEET

        due.register(
            "customers",
            services.process_due,
            order=30,
            labels={"pool": "转入公客池", "anonymized": "匿名化"},
        )

        # the 意向客户登记表 export as the audit trail reads it
        presenting.register_export(
            "customers.customer",
            filterset=CustomerFilterSet,
            choices={"report": {"intent_register": REGISTER_SHEET}},
        )

        # The demo office's customers (``loupan demo``), after the inventory.
        from loupan.core import demo as demo_office

        from . import demo

        demo_office.register("customers", demo.demo_customers, order=40)

        # Its pages in the navigation (``core.navigation``).
        from django.utils.translation import gettext_lazy as _

        from loupan.core import navigation as nav

        nav.group("customers", _("客户"), order=20)
        for order, (name, label, dom_id) in enumerate(
            [
                ("customers:customer_list", _("客户列表"), "nav-customers"),
                ("customers:intent_register", _("意向客户登记表"), ""),
                ("customers:pool_list", _("公客池"), "nav-pool"),
                ("customers:claim_list", _("撞单申请"), "nav-claims"),
                ("customers:reception_desk", _("前台接待"), "nav-reception"),
                ("customers:roster_day", _("排班"), "nav-roster"),
                ("customers:call_list", _("来电记录"), "nav-calls"),
                ("customers:morning_check", _("晨检"), "nav-morning-check"),
                ("customers:conflict_list", _("撞车"), ""),
                ("customers:problem_list", _("问题客户一览表"), ""),
                ("customers:handover_list", _("离职交接"), "nav-handover"),
                ("customers:customers_import", _("导入客户"), ""),
            ]
        ):
            nav.register(name, label, group="customers", order=order, dom_id=dom_id)

        # 撞单申请 wait for the supervisor's decision: they count in 待我审批's badge.
        from loupan.approvals import kinds as approval_kinds

        approval_kinds.register_waiting(
            approval_kinds.Waiting(
                code="claim",
                label=_("撞单申请"),
                may_decide=services.may_decide_claims,
                count=lambda user, project: services.open_claims(user, project).count(),
                url_name="customers:claim_list",
                order=10,
            )
        )
