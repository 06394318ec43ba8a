from django.apps import AppConfig


class AftersalesConfig(AppConfig):
    name = "loupan.aftersales"
    label = "aftersales"
    verbose_name = "售后"

    def ready(self):
        from loupan.core import demo as demo_office
        from loupan.core import due, numbering

        from . import complaints, demo

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
