from django.apps import AppConfig


class AftersalesConfig(AppConfig):
    name = "loupan.aftersales"
    label = "aftersales"
    verbose_name = "售后"

    def ready(self):
        from loupan.core import demo as demo_office
        from loupan.core import numbering

        from . import demo

        # 维修单 WX-, 投诉 TS- (gapless per project, core.numbering)
        numbering.register("repair", "WX")
        numbering.register("complaint", "TS")
        demo_office.register("aftersales", demo.demo_aftersales, order=70)
