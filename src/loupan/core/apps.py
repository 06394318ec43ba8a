from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "loupan.core"
    label = "core"
    verbose_name = "核心"
