from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "loupan.reports"
    label = "reports"
    verbose_name = "报表"

    def ready(self):
        from loupan.core import demo as demo_office
        from loupan.core import due

        from . import catalogue, demo, scheduled  # noqa: F401  (catalogue: the reports register)

        # the daily report at its closing time, the weekly and monthly ones after their
        # period, written to the reports folder and mailed (loupan run-due)
        due.register(
            "reports_deliver",
            scheduled.reports_deliver,
            order=95,
            labels=scheduled.DELIVER_LABELS,
        )
        demo_office.register("reports", demo.demo_reports, order=95)
