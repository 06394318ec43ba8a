from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    """The one approval engine; each app registers its kinds in its own ``ready()``."""

    name = "loupan.approvals"
    label = "approvals"
    verbose_name = "审批"

    def ready(self):
        from loupan.audit import presenting

        # A request is named by its kind and subject: the trail reads the subjects of a
        # page's requests together (one query per kind of subject), not one by one.
        presenting.register("approvals.approvalrequest", related=("subject",))

        # 待我审批 in the navigation, with its badge (``core.navigation``).
        from django.utils.translation import gettext_lazy as _

        from loupan.core import navigation as nav

        nav.register(
            "approvals:inbox",
            _("待我审批"),
            order=35,
            dom_id="nav-approvals",
            badge="approvals:count",
        )
