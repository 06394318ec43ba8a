from django.apps import AppConfig


class AftersalesConfig(AppConfig):
    name = "loupan.aftersales"
    label = "aftersales"
    verbose_name = "售后"

    def ready(self):
        from django.urls import reverse

        from loupan.audit import presenting
        from loupan.core import demo as demo_office
        from loupan.core import due, numbering

        from . import complaints, delivery, demo, settlement

        # 维修单 WX-, 投诉 TS- (gapless per project, core.numbering)
        numbering.register("repair", "WX")
        numbering.register("complaint", "TS")
        # overdue complaints escalated to the manager every day (loupan run-due)
        due.register(
            "complaints_escalate",
            complaints.complaints_escalate,
            order=70,
            labels=complaints.ESCALATE_LABELS,
        )
        demo_office.register("aftersales", demo.demo_aftersales, order=70)

        # The audit trail links these to their pages; a complaint's contact number is
        # stored as typed and shown masked.
        def page(name):
            return lambda obj: reverse(f"aftersales:{name}", args=[obj.project_id, obj.pk])

        presenting.register(
            "aftersales.complaint", url=page("complaint_detail"), masked={"contact": "phone"}
        )
        for label, name in (
            ("aftersales.repairorder", "repair_detail"),
            ("aftersales.delivery", "delivery_detail"),
            ("aftersales.deliverybatch", "delivery_batch_detail"),
            ("aftersales.settlement", "settlement_detail"),
            ("aftersales.certificate", "certificate_detail"),
            ("aftersales.survey", "survey_detail"),
        ):
            presenting.register(label, url=page(name))
        for what, filterset in (
            ("aftersales.complaint", complaints.ComplaintFilterSet),
            ("aftersales.delivery", delivery.DeliveryFilterSet),
            ("aftersales.repairorder", delivery.RepairFilterSet),
            ("aftersales.settlement", settlement.SettlementFilterSet),
            ("aftersales.certificate", settlement.CertificateFilterSet),
        ):
            presenting.register_export(what, filterset=filterset)

        from django.utils.translation import gettext_lazy as _

        # The lists naming the owners, as they leave under the manager's consent where the
        # project asks it (seed 002 客户信息管理制度 5.1; ``customers.exports``).
        from loupan.core.pages import list_builder, query_builder
        from loupan.customers import exports as customer_exports

        from . import complaints_views, delivery_views, settlement_views

        for code, view, may in (
            ("aftersales.repairs", delivery_views.RepairList, delivery.may_export),
            ("aftersales.complaints.list", complaints_views.ComplaintList, complaints.may_export),
            (
                "aftersales.complaints.archive",
                complaints_views.ComplaintArchive,
                complaints.may_export,
            ),
            ("aftersales.settlements", settlement_views.SettlementList, settlement.may_export),
            ("aftersales.certificates", settlement_views.CertificateList, settlement.may_export),
        ):
            build, clean = list_builder(view)
            label = _("投诉档案") if code.endswith("archive") else view.export_report
            customer_exports.register_list(code, label=label, may=may, build=build, clean=clean)
        build, clean = query_builder(delivery_views.notices_content, delivery_views.notices_check)
        customer_exports.register_list(
            "aftersales.notices",
            label=_("入伙通知名单"),
            may=delivery.may_export,
            build=build,
            clean=clean,
        )

        # Its pages in the navigation (``core.navigation``).
        from loupan.core import navigation as nav

        nav.group("aftersales", _("售后"), order=60)
        for order, (name, label, dom_id) in enumerate(
            [
                ("aftersales:owner_list", _("业主档案"), "nav-aftersales"),
                ("aftersales:delivery_batch_list", _("交房"), ""),
                ("aftersales:measured_list", _("实测面积"), ""),
                ("aftersales:settlement_list", _("面积补差"), ""),
                ("aftersales:certificate_list", _("权证"), ""),
                ("aftersales:complaint_list", _("投诉"), ""),
                ("aftersales:repair_list", _("维修"), ""),
                ("aftersales:survey_list", _("满意度调查"), ""),
            ]
        ):
            nav.register(name, label, group="aftersales", order=order, dom_id=dom_id)
        nav.register(
            "aftersales:calendar", _("工作日历"), group="system", order=5, in_project=False
        )
