"""The demo office (`loupan demo`): one developer company, the main project 锦城·翠湖湾
with two phases and six buildings under presale permits, a second project 锦城·云栖府
that the demo consultant does not belong to, and one account per role.

Idempotent: objects are found by their natural keys, so running it twice changes
nothing. Later issues add their own objects (units, customers, deals) in their own
``demo_*`` functions, called from ``build_demo``.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from loupan.accounts.models import Membership, Role, User
from loupan.accounts.roles import sync_system_roles
from loupan.audit.models import AuditAction
from loupan.audit.services import audit_create, audit_record
from loupan.inventory.models import Company, PresalePermit, Project, ProjectStatus

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

MAIN_PERMITS = [
    (
        "蓉预售字第510100202601234号",
        datetime.date(2026, 3, 18),
        "一期 1栋、2栋、3栋",
        Decimal("58230.55"),
    ),
    (
        "蓉预售字第510100202607788号",
        datetime.date(2026, 8, 26),
        "二期 5栋、6栋、8栋",
        Decimal("61877.20"),
    ),
]


def _get_or_create(model, lookup: dict, defaults: dict):
    obj, created = model.objects.get_or_create(**lookup, defaults=defaults)
    if created:
        audit_create(actor=None, obj=obj, extra={"source": "demo"})
    return obj


@transaction.atomic
def build_demo(stdout=None) -> dict:
    sync_system_roles()
    company = _get_or_create(
        Company,
        {"name": "锦城置业有限公司"},
        {
            "short_name": "锦城置业",
            "credit_code": "91510100MA6DEMO01X",
            "address": "成都市高新区天府大道北段 1700 号",
            "phone": "028-85550000",
        },
    )
    main = _get_or_create(
        Project,
        {"code": "CHW"},
        {
            "company": company,
            "name": "锦城·翠湖湾",
            "city": "成都",
            "district": "高新区",
            "address": "成都市高新区锦城大道 888 号",
            "sales_office_phone": "028-85558888",
            "status": ProjectStatus.SELLING,
            "note": "两期六栋：一期 1、2、3 栋高层住宅，二期 5、6、8 栋洋房；地下车位两层。",
        },
    )
    second = _get_or_create(
        Project,
        {"code": "YQF"},
        {
            "company": company,
            "name": "锦城·云栖府",
            "city": "绵阳",
            "district": "涪城区",
            "address": "绵阳市涪城区临园路 66 号",
            "sales_office_phone": "0816-2226666",
            "status": ProjectStatus.PREPARING,
        },
    )
    for number, issued_on, buildings, area in MAIN_PERMITS:
        _get_or_create(
            PresalePermit,
            {"project": main, "number": number},
            {
                "issued_on": issued_on,
                "authority": "成都市住房和城乡建设局",
                "buildings": buildings,
                "area": area,
            },
        )

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
    return {"company": company, "main": main, "second": second, "users": users}


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
