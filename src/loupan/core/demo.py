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

DEMO_USERNAMES = [username for username, *_rest in DEMO_USERS]

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
    demo_inventory(main, users)
    demo_customers(main, users)
    demo_deals(main, users)
    return {"company": company, "main": main, "second": second, "users": users}


# name, phase, floors above, stairs, homes per floor per stair, base unit price (yuan/㎡),
# positions: (layout, gross area, internal area, orientation)
DEMO_BUILDINGS = [
    (
        "1栋",
        "一期",
        26,
        2,
        2,
        16800,
        [("A1", "89.36", "71.20", "S"), ("B1", "118.52", "95.10", "SN")],
    ),
    (
        "2栋",
        "一期",
        26,
        2,
        2,
        16900,
        [("A1", "89.36", "71.20", "S"), ("B1", "118.52", "95.10", "SN")],
    ),
    (
        "3栋",
        "一期",
        33,
        1,
        4,
        15800,
        [
            ("A2", "78.90", "62.45", "SE"),
            ("A1", "89.36", "71.20", "S"),
            ("A1", "89.36", "71.20", "S"),
            ("A2", "78.90", "62.45", "SW"),
        ],
    ),
    (
        "5栋",
        "二期",
        13,
        2,
        2,
        21500,
        [("C1", "143.80", "117.60", "SN"), ("C1", "143.80", "117.60", "SN")],
    ),
    (
        "6栋",
        "二期",
        13,
        2,
        2,
        21800,
        [("C1", "143.80", "117.60", "SN"), ("D1", "178.25", "146.30", "SN")],
    ),
    (
        "8栋",
        "二期",
        33,
        1,
        4,
        17200,
        [
            ("B2", "105.66", "84.90", "SE"),
            ("B1", "118.52", "95.10", "S"),
            ("B1", "118.52", "95.10", "S"),
            ("B2", "105.66", "84.90", "SW"),
        ],
    ),
]
DEMO_LAYOUTS = [
    ("A1", 2, 2, 1, "两室朝南"),
    ("A2", 2, 1, 1, "紧凑两室"),
    ("B1", 3, 2, 1, "南北通透三室"),
    ("B2", 3, 2, 2, "三室双卫"),
    ("C1", 4, 2, 2, "洋房四室"),
    ("D1", 4, 2, 3, "洋房边户大四室"),
]


def demo_inventory(project, users) -> None:
    """Phases, layouts, six buildings (about 600 homes) and two basement floors of
    parking, priced per floor, mostly released, with a few held units. Built only once:
    a project that already has buildings is left alone."""
    from decimal import Decimal

    from loupan.inventory import pricing_services as ps
    from loupan.inventory import services as inv
    from loupan.inventory.models import Building, Layout, Phase, Unit, UnitStatus, UnitUse

    if Building.objects.filter(project=project).exists():
        return
    planner, salesadmin = users["planner"], users["salesadmin"]
    phases = {
        name: Phase.objects.create(project=project, name=name, sort_order=i)
        for i, name in enumerate(["一期", "二期"])
    }
    layouts = {
        name: Layout.objects.create(
            project=project, name=name, rooms=r, halls=h, baths=b, note=note
        )
        for name, r, h, b, note in DEMO_LAYOUTS
    }
    permits = list(project.permits.order_by("issued_on"))
    buildings = []
    for order, (name, phase, floors, stairs, per_floor, base, positions) in enumerate(
        DEMO_BUILDINGS
    ):
        building = inv.building_create(
            actor=planner,
            project=project,
            data={
                "phase": phases[phase],
                "name": name,
                "floors_above": floors,
                "floors_below": 2,
                "stairs": stairs,
                "units_per_floor": per_floor,
                "has_elevator": True,
                "sort_order": order,
                "permit": permits[0 if phase == "一期" else 1] if permits else None,
            },
        )
        specs = [
            {
                "layout": layouts[lay],
                "gross_area": Decimal(g),
                "internal_area": Decimal(i),
                "shared_area": Decimal(g) - Decimal(i),
                "orientation": o,
                "fit_out": "fine",
            }
            for lay, g, i, o in positions
        ]
        inv.building_generate_units(actor=planner, building=building, positions=specs)
        buildings.append((building, floors, base))
    _demo_price_lists(project, users, buildings)
    for building, floors, _base in buildings:
        # The top five floors of the towers stay unreleased (the next push).
        release = list(
            Unit.objects.filter(building=building)
            .exclude(floor__gt=floors - 5 if floors > 20 else 999)
            .values_list("pk", flat=True)
        )
        inv.units_release(
            actor=salesadmin, project=project, unit_ids=release, reason="首次开盘推盘"
        )
    garage = inv.building_create(
        actor=planner,
        project=project,
        data={
            "name": "地下车库",
            "floors_above": 0,
            "floors_below": 2,
            "stairs": 1,
            "units_per_floor": 60,
            "has_elevator": True,
            "sort_order": 99,
            "phase": phases["一期"],
        },
    )
    inv.building_generate_units(
        actor=planner,
        building=garage,
        floors=[-1, -2],
        positions=[
            {"use": UnitUse.PARKING, "gross_area": Decimal("12.50"), "pricing_basis": "per_unit"}
            for _ in range(60)
        ],
    )
    _price(
        project,
        users,
        "车位价格方案",
        pricing_basis="per_unit",
        unit_ids=list(Unit.objects.filter(building=garage).values_list("pk", flat=True)),
        rule={
            "building_prices": {str(garage.pk): "120000"},
            "floor_price": {"discount_pct": "10"},
            "rounding": {"step": "100"},
        },
    )
    inv.units_release(
        actor=salesadmin,
        project=project,
        unit_ids=list(Unit.objects.filter(building=garage).values_list("pk", flat=True)),
    )
    # A few units the office holds back (销控保留) for the second opening.
    held = list(
        Unit.objects.filter(
            project=project, building__name="5栋", floor__in=[6, 7], status=UnitStatus.AVAILABLE
        ).values_list("pk", flat=True)
    )
    inv.units_hold(actor=salesadmin, project=project, unit_ids=held, reason="二次开盘加推预留")
    view_units = list(
        Unit.objects.filter(
            project=project, building__name="1栋", floor=18, status=UnitStatus.AVAILABLE
        ).values_list("pk", flat=True)
    )
    inv.units_hold(actor=salesadmin, project=project, unit_ids=view_units, reason="领导关系户协调")
    # 二期洋房 sells well: planning proposes +2 %, waiting for the manager's approval.
    phase2 = list(
        Unit.objects.filter(
            project=project, building__name__in=["5栋", "6栋"], status=UnitStatus.AVAILABLE
        ).values_list("pk", flat=True)
    )
    adjustment = ps.adjustment_create(
        actor=planner,
        project=project,
        name="二期洋房上调 2%",
        unit_ids=phase2,
        mode="percent",
        value="2",
        rounding_step="100",
        note="二期去化快于预期，上调以控制节奏",
    )
    ps.pricelist_submit(actor=planner, price_list=adjustment)


def _demo_price_lists(project, users, buildings) -> None:
    """The opening price list V1 of the homes: drafted by planning from base prices per
    building, a floor step and orientation premiums; approved by the director; applied."""
    from loupan.inventory.models import Unit

    rule = {
        "building_prices": {str(b.pk): str(base) for b, _floors, base in buildings},
        # 楼层差: +40 yuan/㎡ per floor above the 3rd; the top floor 300 less (roof heat).
        "floor": {
            "mode": "step",
            "base": 3,
            "step": "40",
            "exceptions": {"1": "0", "2": "0", "top": "-300"},
        },
        "orientation_premiums": {"SN": "200", "SE": "80", "SW": "-50"},
        "rounding": {"step": "100", "on": "total"},
        "floor_price": {"discount_pct": "5"},
    }
    homes = list(
        Unit.objects.filter(building__in=[b for b, _f, _b in buildings]).values_list(
            "pk", flat=True
        )
    )
    _price(project, users, "首次开盘价格方案", rule=rule, unit_ids=homes, note="一期、二期首次开盘")


def _price(project, users, name, *, rule, unit_ids, note="", pricing_basis=None) -> None:
    """A price list drafted by planning, approved by the director and applied."""
    from loupan.inventory import pricing_services as ps

    planner = users["planner"]
    price_list = ps.pricelist_generate(
        actor=planner,
        project=project,
        name=name,
        rule=rule,
        unit_ids=unit_ids,
        note=note,
        pricing_basis=pricing_basis,
    )
    ps.pricelist_submit(actor=planner, price_list=price_list)
    ps.pricelist_approve(actor=users["director"], price_list=price_list, note="同意，按方案执行")
    ps.pricelist_apply(actor=planner, price_list=price_list)


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


MOBILE_PREFIXES = [
    *(f"13{d}" for d in range(10)),
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    *(f"18{d}" for d in range(10)),
    "177",
    "199",
]
DEMO_CHANNELS = ["报纸", "户外广告", "网络", "朋友介绍", "老带新", "路过", "电话", "短视频"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "文",
    "华",
    "红",
    "建国",
    "玉兰",
    "志强",
    "海燕",
]


def demo_customers(project, users) -> None:
    """About 300 customers of the two demo consultants, registered over the last two
    months, with follow-ups, grades, a few in the public pool, a household and an open
    撞单 claim. Built only once."""
    import datetime
    import random

    from django.utils import timezone

    from loupan.customers import services as cs
    from loupan.customers.models import Channel, Customer, FollowUp, Stage

    if Customer.objects.filter(project=project).exists():
        return
    rng = random.Random(2026)
    more = random.Random(7)  # the buyer-analysis answers, apart so the rest stays as it was
    channels = [
        Channel.objects.create(project=project, name=name, sort_order=i)
        for i, name in enumerate(DEMO_CHANNELS)
    ]
    consultants = [users["consultant"], users["consultant2"]]
    layouts = ["A1 两室", "B1 三室", "B2 三室双卫", "C1 洋房四室", "A2 小两室", "三室", "四室"]
    now = timezone.now()
    for i in range(300):
        owner = consultants[i % 2]
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        if i % 9 == 0:
            name = rng.choice(SURNAMES) + ("先生" if i % 2 else "女士")
        phone = f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"
        customer = cs.customer_register(
            actor=owner,
            project=project,
            name=name,
            phone=phone,
            wanted_layout=rng.choice(layouts),
            consent=True,
            data={
                "grade": rng.choice("AABBBCCCD"),
                "channel": rng.choice(channels),
                "purpose": rng.choice(["home", "upgrade", "investment"]),
                "budget_max": str(rng.choice([120, 150, 180, 220, 300])),
                "residence_district": rng.choice(
                    ["高新区", "武侯区", "锦江区", "双流区", "天府新区"]
                ),
                "occupation": more.choice(
                    ["企业职员", "公务员", "教师", "医生", "私营业主", "IT 工程师", ""]
                ),
                "income_band": more.choice(["10万以下", "10-20万", "20-50万", "50万以上", ""]),
                "education": more.choice(["senior", "college", "bachelor", "bachelor", "master"]),
                "motive": more.choice(["首次置业", "改善居住", "子女教育", "投资保值", ""]),
            },
        )
        registered = now - datetime.timedelta(days=rng.randrange(0, 40), hours=rng.randrange(0, 9))
        follow_ups = []
        last = registered
        for _n in range(rng.randrange(0, 5)):
            last = last + datetime.timedelta(days=rng.randrange(1, 8), hours=rng.randrange(0, 5))
            if last > now:
                break
            follow_ups.append(
                FollowUp(
                    customer=customer,
                    consultant=owner,
                    at=last,
                    way=rng.choice(["phone", "wechat", "visit", "sms"]),
                    content=rng.choice(
                        [
                            "介绍二期洋房",
                            "约周末看样板间",
                            "客户关注学区",
                            "询问首付比例",
                            "比较竞品价格",
                        ]
                    ),
                    next_date=(last + datetime.timedelta(days=rng.randrange(1, 10))).date(),
                )
            )
        for earlier in follow_ups[:-1]:
            earlier.done = True  # each follow-up closes the plan of the one before
        FollowUp.objects.bulk_create(follow_ups)
        stage = Stage.INTENT if any(f.way == "visit" for f in follow_ups) else Stage.POTENTIAL
        Customer.objects.filter(pk=customer.pk).update(
            registered_at=registered,
            last_follow_up_at=last,
            stage=stage,
            ownership_expires_at=last + datetime.timedelta(days=cs.ownership_days()),
        )
        customer.visits.update(visited_at=registered)
    # Ownership runs out after 30 days without a follow-up: those go to the pool.
    cs.pool_expire()
    # Today's follow-ups for the demo consultant's home page.
    for customer in Customer.objects.filter(project=project, owner=users["consultant"])[:6]:
        FollowUp.objects.create(
            customer=customer,
            consultant=users["consultant"],
            at=now - datetime.timedelta(days=2),
            way="phone",
            content="约今天回访",
            next_date=timezone.localdate(),
        )
    first, second = list(Customer.objects.filter(project=project, owner=users["consultant"])[:2])
    cs.household_link(actor=users["supervisor"], customers=[first, second])
    other = Customer.objects.filter(project=project, owner=users["consultant"]).last()
    cs.claim_create(
        actor=users["consultant2"], customer=other, reason="客户首次来访由我接待，次日才被登记"
    )
    demo_intentions(project, users)


def demo_intentions(project, users) -> None:
    """A-grade customers of both consultants wanting the same available unit (撞车, seed
    002 二.2(2)), and one problem customer escalated to the manager."""
    from loupan.customers import intentions
    from loupan.customers.models import Customer, Grade
    from loupan.inventory.models import Unit, UnitStatus

    unit = (
        Unit.objects.filter(project=project, status=UnitStatus.AVAILABLE, use="residential")
        .order_by("building__name", "-floor", "room")
        .first()
    )
    if unit is None:
        return
    for username in ("consultant", "consultant2"):
        customer = (
            Customer.objects.filter(project=project, owner=users[username], in_pool=False)
            .order_by("-last_follow_up_at")
            .first()
        )
        Customer.objects.filter(pk=customer.pk).update(grade=Grade.A)
        customer.refresh_from_db()
        intentions.intended_unit_add(actor=users[username], customer=customer, unit=unit)
    problem = (
        Customer.objects.filter(project=project, owner=users["consultant"], in_pool=False)
        .order_by("registered_at")
        .last()
    )
    intentions.problem_flag(
        actor=users["consultant"],
        customer=problem,
        problem="客户要求口头承诺学区名额，已解释但客户情绪激动",
    )


DEMO_DISCOUNTS = [
    # name, kind, value, order, variable
    ("一次性付款", "percent", "1", 1, False),
    ("按揭付款", "percent", "0.5", 2, False),
    ("开盘优惠", "amount", "20000", 3, False),
    ("老带新", "percent", "0.5", 4, False),
    ("员工购房", "percent", "2", 5, False),
    ("特批", "percent", "0", 9, True),
]


def demo_deals(project, users) -> None:
    """The project's discount types, and deals in every state of the path: reserved,
    waiting for a discount approval, waiting for finance to confirm the deposit,
    subscribed (one past its signing deadline), contracted with an approved special
    clause and filing, an expired reservation and a released one, and the changes
    after subscription (``demo_changes``). Built only once."""
    import datetime

    from django.utils import timezone

    from loupan.customers.models import Customer
    from loupan.deals import services as ds
    from loupan.deals.models import Deal, DiscountType
    from loupan.inventory.models import Unit, UnitStatus

    for name, kind, value, order, variable in DEMO_DISCOUNTS:
        DiscountType.objects.get_or_create(
            project=project,
            name=name,
            defaults={"kind": kind, "value": value, "sort_order": order, "variable": variable},
        )
    if Deal.objects.filter(project=project).exists():
        return
    types = {t.name: t for t in DiscountType.objects.filter(project=project)}
    units = iter(
        Unit.objects.filter(
            project=project, status=UnitStatus.AVAILABLE, sellable=True, use="residential"
        )
        .exclude(list_price=None)
        .order_by("building__name", "floor", "room")
    )
    owned = {
        name: iter(
            Customer.objects.filter(project=project, owner=users[name], in_pool=False).order_by(
                "registered_at"
            )
        )
        for name in ("consultant", "consultant2")
    }

    def reserve(consultant="consultant"):
        return ds.deal_reserve(
            actor=users[consultant], unit=next(units), customer=next(owned[consultant])
        )

    def subscribe(deal, consultant="consultant", discounts=(), **kw):
        deposit = (deal.unit.list_price * 5 / 100).quantize(1)
        return ds.deal_subscribe(
            actor=users[consultant],
            deal=deal,
            buyers=[(deal.customer, "100")],
            payment_method=kw.pop("payment_method", "commercial"),
            deposit=deposit,
            discounts=[(types[n], v) for n, v in discounts],
            **kw,
        )

    reserve()  # 预留
    reserve("consultant2")
    subscribe(reserve(), discounts=[("一次性付款", None), ("特批", "2")], reason="老业主再次购房")
    subscribe(reserve("consultant2"), "consultant2", discounts=[("按揭付款", None)])  # 待确认定金
    for consultant in ("consultant", "consultant2", "consultant"):  # 认购
        deal = subscribe(reserve(consultant), consultant, discounts=[("按揭付款", None)])
        ds.deal_confirm_deposit(actor=users["finance"], deal=deal)
    late = Deal.objects.filter(project=project, status="subscribed").order_by("pk").first()
    Deal.objects.filter(pk=late.pk).update(
        signing_deadline=timezone.localdate() - datetime.timedelta(days=2)
    )  # 未签约客户一览表
    for i in range(3):  # 签约
        deal = subscribe(reserve(), payment_method="one_off", discounts=[("一次性付款", None)])
        deal = ds.deal_confirm_deposit(actor=users["finance"], deal=deal)
        if i == 0:
            ds.clause_add(actor=users["consultant"], deal=deal, text="交房时赠送一年物业费")
            request = deal.approvals.get(kind="clause")
            ds.approval_decide(actor=users["director"], request=request, approve=True)
        deal = ds.deal_contract(actor=users["salesadmin"], deal=deal)
        if i < 2:
            ds.contract_update_filing(
                actor=users["salesadmin"],
                deal=deal,
                filing_status="filed" if i == 0 else "signed",
                filing_number=f"CD2026{deal.pk:06d}",
            )
    expired = reserve("consultant2")
    Deal.objects.filter(pk=expired.pk).update(
        reservation_expires_at=timezone.now() - datetime.timedelta(hours=1)
    )
    ds.deals_expire()
    ds.deal_release(actor=users["consultant"], deal=reserve(), reason="客户改选其他楼栋")
    demo_changes(project, users, reserve, subscribe)


def demo_changes(project, users, reserve, subscribe) -> None:
    """The changes after subscription: an exchange, a rename with a co-buyer, a
    cancellation under arbitration, and a cancellation waiting for the manager."""
    from loupan.customers.models import Customer
    from loupan.deals import changes
    from loupan.deals import services as ds
    from loupan.inventory.models import Unit, UnitStatus

    def confirmed(consultant="consultant"):
        deal = subscribe(reserve(consultant), consultant, discounts=[("按揭付款", None)])
        return ds.deal_confirm_deposit(actor=users["finance"], deal=deal)

    def approve(request):
        while request.status == "pending":
            request = ds.approval_decide(actor=users[request.level], request=request, approve=True)

    # 换房: consultant asks, the supervisor forwards, the manager approves
    deal = confirmed()
    target = (
        Unit.objects.filter(
            project=project, status=UnitStatus.AVAILABLE, sellable=True, use="residential"
        )
        .exclude(list_price=None)
        .order_by("-floor", "building__name", "room")
        .first()
    )
    approve(
        changes.exchange_request(
            actor=users["consultant"], deal=deal, unit=target, reason="客户希望换到高楼层"
        )
    )
    # 更名: a spouse added as co-buyer, 50/50
    deal = confirmed()
    spouse = (
        Customer.objects.filter(project=project, owner=users["consultant"], in_pool=False)
        .exclude(pk=deal.customer_id)
        .exclude(deals__isnull=False)
        .order_by("-registered_at")
        .first()
    )
    approve(
        changes.rename_request(
            actor=users["consultant"],
            deal=deal,
            buyers=[(deal.customer, "50"), (spouse, "50")],
            reason="增加配偶为共同买受人",
        )
    )
    # 退房 with a dispute: the buyer defaults, the deposit is kept, the buyer goes to
    # arbitration
    deal = confirmed("consultant2")
    deal = ds.deal_contract(actor=users["salesadmin"], deal=deal)
    approve(
        changes.cancel_request(
            actor=users["consultant2"],
            deal=deal,
            cancel_reason="loan",
            detail="银行拒贷，客户无力一次性付款",
            deposit_treatment="forfeit",
            originals_returned=True,
        )
    )
    changes.cancellation_dispute(
        actor=users["salesadmin"],
        deal=deal,
        dispute="arbitration",
        note="客户申请仲裁，要求退还定金",
    )
    # a cancellation waiting (the supervisor's turn)
    changes.cancel_request(
        actor=users["consultant"],
        deal=confirmed(),
        cancel_reason="personal",
        detail="工作调动离开本市",
        deposit_treatment="part",
        forfeited="10000",
    )
