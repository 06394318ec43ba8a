from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "loupan.audit"
    label = "audit"
    verbose_name = "审计日志"

    def ready(self):
        from loupan.core import ports

        from . import (
            presenting,
            receivers,  # noqa: F401  login / logout / failed login entries
            services,
        )
        from .filters import AuditFilterSet

        ports.audit.provide(
            record=services.audit_record,
            create=services.audit_create,
            update=services.audit_update,
            delete=services.audit_delete,
            export=services.audit_export,
        )
        # how the trail's own export reads in the trail (its filters by their labels)
        presenting.register_export("audit.auditentry", filterset=AuditFilterSet)

        from django.utils.translation import gettext_lazy as _

        from loupan.core import navigation as nav

        nav.register("audit:audit_list", _("审计日志"), group="system", order=4, in_project=False)
