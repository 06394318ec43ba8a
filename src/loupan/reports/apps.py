from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "loupan.reports"
    label = "reports"
    verbose_name = "报表"

    def ready(self):
        from django.conf import settings

        from loupan.audit import presenting
        from loupan.core import demo as demo_office
        from loupan.core import due

        from . import catalogue, demo, engine, scheduled  # noqa: F401  (catalogue: the reports register)

        # the daily report at its closing time, the weekly and monthly ones after their
        # period, written to the reports folder and mailed (loupan run-due)
        due.register(
            "reports_deliver",
            scheduled.reports_deliver,
            order=95,
            labels=scheduled.DELIVER_LABELS,
        )
        demo_office.register("reports", demo.demo_reports, order=95)

        # the reports of customers' personal data (成交客户档案, the weekly report that
        # holds it) leave under the manager's consent where the project asks it (seed 002
        # 客户信息管理制度 5.1; ``customers.exports``)
        from loupan.core.pages import query_builder
        from loupan.customers import exports as customer_exports

        for spec in engine.REPORTS.values():
            if spec.personal:
                build, clean = query_builder(*engine.export_functions(spec))
                customer_exports.register_list(
                    f"reports.{spec.code}",
                    label=spec.title,
                    may=lambda user, project, spec=spec: engine.may_open(user, project, spec),
                    build=build,
                    clean=clean,
                )

        # a report's export as the audit trail reads it: the report's title, its filters
        def title(what):
            spec = engine.REPORTS.get(what.split(".", 1)[1])
            return spec.title if spec else what

        presenting.register_export(
            "reports.",
            title=title,
            refs={
                "building": "inventory.building",
                "consultant": settings.AUTH_USER_MODEL,
                "channel": "customers.channel",
            },
            choices={"report": lambda: {code: s.title for code, s in engine.REPORTS.items()}},
        )

        # Its pages in the navigation (``core.navigation``).
        from django.utils.translation import gettext_lazy as _

        from loupan.core import navigation as nav

        nav.group("reports", _("报表"), order=80)
        for order, (name, label, dom_id) in enumerate(
            [
                ("reports:index", _("全部报表"), "nav-reports"),
                ("reports:target_list", _("销售目标"), ""),
                ("reports:spend_list", _("推广费用"), ""),
                ("reports:report_settings", _("报表设置"), ""),
            ]
        ):
            nav.register(name, label, group="reports", order=order, dom_id=dom_id)
        nav.register("reports:company", _("公司汇总"), group="reports", order=10, in_project=False)
