from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "loupan.accounts"
    label = "accounts"
    verbose_name = "账号与权限"

    def ready(self):
        from .roles import sync_system_roles

        # System roles follow the code after every migrate (new permissions of new
        # features reach existing installations without a hand step).
        post_migrate.connect(sync_system_roles, sender=self)
