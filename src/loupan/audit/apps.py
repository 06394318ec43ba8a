from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "loupan.audit"
    label = "audit"
    verbose_name = "审计日志"

    def ready(self):
        from . import receivers  # noqa: F401  login / logout / failed login entries
