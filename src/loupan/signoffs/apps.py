from django.apps import AppConfig


class SignOffsConfig(AppConfig):
    """The supervisor's daily sign-offs 签核 (晨检, 主管复审); each app registers the kinds
    it is checked by in its own ``ready()``."""

    name = "loupan.signoffs"
    label = "signoffs"
    verbose_name = "主管签核"

    def ready(self):
        # the overview of sign-offs in the navigation (``core.navigation``)
        from django.utils.translation import gettext_lazy as _

        from loupan.core import navigation as nav

        nav.register("signoffs:overview", _("主管签核"), group="reports", order=99)
