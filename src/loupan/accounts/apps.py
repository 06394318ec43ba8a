from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "loupan.accounts"
    label = "accounts"
    verbose_name = "账号与权限"

    def ready(self):
        from loupan.core import ports

        from . import access
        from .permissions import label
        from .roles import sync_system_roles

        ports.access.provide(
            has_perm=access.has_perm,
            require_perm=access.require_perm,
            scope_of=access.scope_of,
            projects_with=access.projects_with,
            label=label,
        )

        # System roles follow the code after every migrate (new permissions of new
        # features reach existing installations without a hand step).
        post_migrate.connect(sync_system_roles, sender=self)

        # The trail shows a user's mobile masked (it is stored as typed).
        from loupan.audit import presenting

        presenting.register("accounts.user", masked={"mobile": "phone"})

        # The demo office's accounts (``loupan demo``), once the inventory has made the
        # projects they belong to.
        from loupan.core import demo as demo_office

        from . import demo

        demo_office.register(
            "accounts",
            demo.demo_accounts,
            order=20,
            days_ago=60,  # the office was set up two months ago
            report=demo.demo_accounts_table,
            exports={"DEMO_USERS": demo.DEMO_USERS, "DEMO_USERNAMES": demo.DEMO_USERNAMES},
        )

        # Its pages in the navigation (``core.navigation``); the 系统 group is the one
        # the administration pages of other apps join.
        from django.utils.translation import gettext_lazy as _

        from loupan.core import navigation as nav

        nav.group("system", _("系统"), order=90)
        nav.register("accounts:user_list", _("用户"), group="system", order=1, in_project=False)
        nav.register("accounts:lock_list", _("登录锁定"), group="system", order=2, in_project=False)
        nav.register("accounts:role_list", _("角色"), group="system", order=3, in_project=False)
