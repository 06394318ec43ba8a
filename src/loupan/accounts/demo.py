"""The demo office's accounts: one per role, with their memberships on the two demo
projects (the demo consultant does not belong to the second one), and the table of them
that ``loupan demo`` prints. Registered in ``AccountsConfig.ready()``; runs after the
inventory has put the ``main`` and ``second`` projects in the context."""

from django.conf import settings

from loupan.audit.models import AuditAction
from loupan.audit.services import audit_create, audit_record

from .models import Membership, Role, User
from .roles import sync_system_roles

# username, real name, role codes on the main project, role codes on the second project
DEMO_USERS = [
    ("director", "赵总监", ["director"], ["director"]),
    ("manager", "钱经理", ["manager"], []),
    ("supervisor", "孙主管", ["supervisor"], []),
    ("consultant", "李顾问", ["consultant"], []),
    ("consultant2", "周顾问", ["consultant"], ["consultant"]),
    ("salesadmin", "吴内勤", ["sales_admin"], []),
    ("finance", "郑财务", ["finance"], ["finance"]),
    ("planner", "王策划", ["planner"], []),
    ("service", "冯客服", ["service"], []),
    ("sysadmin", "陈管理员", ["sysadmin"], ["sysadmin"]),
    ("auditor", "褚审计", ["auditor"], ["auditor"]),
]

DEMO_USERNAMES = [username for username, *_rest in DEMO_USERS]


def demo_accounts(context: dict) -> dict:
    """The demo users (must change the public demo password) and their memberships;
    ``users`` by username for the later steps."""
    sync_system_roles()
    main, second = context["main"], context["second"]
    roles = {r.code: r for r in Role.objects.all()}
    password = settings.LOUPAN_DEMO_PASSWORD
    users = {}
    for index, (username, real_name, main_roles, second_roles) in enumerate(DEMO_USERS, start=1):
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(
                username=username,
                real_name=real_name,
                employee_no=f"JC{index:04d}",
                mobile=f"1390000{index:04d}",
                is_demo=True,
                must_change_password=True,
            )
            user.set_password(password)
            user.save()
            audit_create(actor=None, obj=user, extra={"source": "demo"})
        users[username] = user
        for project, codes in ((main, main_roles), (second, second_roles)):
            for code in codes:
                membership, created = Membership.objects.get_or_create(
                    user=user, project=project, role=roles[code]
                )
                if created:
                    audit_record(
                        actor=None,
                        action=AuditAction.GRANT,
                        obj=membership,
                        project_id=project.pk,
                        username="demo",
                        extra={"user": username, "role": code, "source": "demo"},
                    )
    return {"users": users}


def demo_accounts_table() -> str:
    lines = ["演示账号 (demo accounts) — 密码 password: " + settings.LOUPAN_DEMO_PASSWORD, ""]
    names = {r.code: r.display_name for r in Role.objects.all()}
    for username, real_name, main_roles, second_roles in DEMO_USERS:
        roles = ", ".join(names[c] for c in main_roles)
        also = (
            f"（另属 锦城·云栖府：{', '.join(names[c] for c in second_roles)}）"
            if second_roles
            else ""
        )
        lines.append(f"  {username:<12} {real_name:<6} {roles}{also}")
    return "\n".join(lines)
