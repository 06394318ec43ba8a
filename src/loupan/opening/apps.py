from django.apps import AppConfig


class OpeningConfig(AppConfig):
    name = "loupan.opening"
    label = "opening"
    verbose_name = "开盘"

    def ready(self):
        from loupan.core import demo as demo_office

        from . import demo

        demo_office.register("opening", demo.demo_opening, order=75)

        # Its pages in the navigation (``core.navigation``).
        from django.utils.translation import gettext_lazy as _

        from loupan.core import navigation as nav

        nav.register("opening:event_list", _("开盘"), order=70, dom_id="nav-opening")
