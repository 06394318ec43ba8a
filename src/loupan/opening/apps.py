from django.apps import AppConfig


class OpeningConfig(AppConfig):
    name = "loupan.opening"
    label = "opening"
    verbose_name = "开盘"

    def ready(self):
        from loupan.core import demo as demo_office

        from . import demo

        demo_office.register("opening", demo.demo_opening, order=75)
