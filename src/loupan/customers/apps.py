from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "loupan.customers"
    label = "customers"
    verbose_name = "客户"

    def ready(self):
        from django.utils.translation import gettext_lazy as _

        from loupan.audit import presenting
        from loupan.core import codelists, due

        from . import services
        from .filters import CustomerFilterSet
        from .imports import REGISTER_SHEET
        from .models import Channel, FollowUpWay, Occupation

        # 认知途径: the office's channels, kept in Channel (customers and calls point to it)
        codelists.register("channel", _("认知途径"), store=codelists.ModelStore(Channel), order=10)

        # 跟进方式: the office's list; 到访 moves a prospect to 意向, so the codes of
        # FollowUpWay are fixed (relabel and reorder only).
        codelists.register("followup_way", _("跟进方式"), system=FollowUpWay.choices, order=20)

        # 职业: the office's list; its one system entry 其他 takes the occupation in words
        # (services.occupation_of), so only "other" is fixed.
        codelists.register("occupation", _("职业"), system=Occupation.choices, order=15)

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
                ("customers:export_list", _("导出申请"), "nav-customer-exports"),
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
