from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    """The one approval engine; each app registers its kinds in its own ``ready()``."""

    name = "loupan.approvals"
    label = "approvals"
    verbose_name = "审批"
