from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "loupan.core"
    label = "core"
    verbose_name = "核心"

    def ready(self):
        # the office's code lists in the navigation (``core.navigation``)
        from django.utils.translation import gettext_lazy as _

        from . import navigation as nav

        nav.register(
            "core:code_lists", _("代码表"), group="system", order=5, dom_id="nav-code-lists"
        )
