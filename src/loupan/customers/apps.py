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

        # The supervisor's 晨检 of a day's calls and visits (seed 001 三(一): by 10:00 the
        # next morning), signed off through the signoffs engine with roster.manage.
        import datetime

        from django.utils.translation import gettext_lazy as _

        from loupan.signoffs import kinds as signoff_kinds

        from . import reception

        signoff_kinds.register(
            signoff_kinds.Kind(
                code=reception.MORNING_SIGNOFF,
                label=_("晨检"),
                perm="roster.manage",
                days_after=1,
                at=datetime.time(10, 0),
                figures=reception.morning_figures,
                active_days=reception.traffic_days,
                figure_labels=reception.morning_labels,
                url=lambda project_pk, day: (
                    f"/projects/{project_pk}/morning-check/?date={day:%Y-%m-%d}"
                ),
            )
        )

        # A customer export under the manager's written consent (seed 002 客户信息管理制度
        # 5.1), when the project's setting asks for it: decided by whoever holds
        # customer.export_approve, never by the requester.
        from loupan.approvals import kinds as approval_kinds

        from . import exports
        from .models import CustomerExport

        approval_kinds.register(
            approval_kinds.Kind(
                code=exports.APPROVAL_KIND,
                label=_("客户数据导出"),
                apply=exports.apply_decision,
                view_perm="customer",
                decide_perms=(exports.LEVEL,),
                levels=lambda project: [exports.LEVEL],
                holds=approval_kinds.holds_perm,
                level_label=lambda level: str(_("销售经理")),
                self_decide=False,
                card_template="customers/parts/export_approval_card.html",
                subjects=lambda: CustomerExport.objects.select_related("requested_by"),
            )
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
