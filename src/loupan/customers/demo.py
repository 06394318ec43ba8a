"""The demo office's customers: about 300 customers of the two demo consultants on the
main project, with follow-ups, grades, a few in the public pool, a household, an open
撞单 claim, two intentions on the same unit (撞车) and a problem customer. Registered in
``CustomersConfig.ready()``; runs after the inventory (the intentions need units)."""

import datetime
import random

from django.utils import timezone

from loupan.core import codelists
from loupan.inventory.models import Unit, UnitStatus

from . import intentions
from . import services as cs
from .models import Channel, Customer, FollowUp, Grade, Stage

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


def _layout(value) -> dict:
    if isinstance(value, tuple):
        return {"wanted_layout": value[0], "wanted_layout_other": value[1]}
    return {"wanted_layout": value}


def _occupation(codes: dict, label: str) -> dict:
    if label in codes:
        return {"occupation": codes[label]}
    return {"occupation": "other", "occupation_other": label}


def demo_customers(context: dict) -> None:
    """About 300 customers of the two demo consultants, registered over the last two
    months, with follow-ups, grades, a few in the public pool, a household and an open
    撞单 claim. Built only once."""
    project, users = context["main"], context["users"]
    if Customer.objects.filter(project=project).exists():
        return
    rng = random.Random(2026)
    more = random.Random(7)  # the buyer-analysis answers, apart so the rest stays as it was
    channels = [
        Channel.objects.create(project=project, name=name, sort_order=i)
        for i, name in enumerate(DEMO_CHANNELS)
    ]
    consultants = [users["consultant"], users["consultant2"]]
    # 职业: the office's list (core.codelists); what is not in it is 其他 in words
    occupations = {"": ""}
    for label in ["企业职员", "公务员", "教师", "医生", "私营业主"]:
        entry = codelists.entry_add(
            actor=users["manager"], project=project, kind="occupation", label=label
        )
        occupations[label] = entry.code
    # 意向户型: the project's layouts, and 其他 in words ("other", words)
    layouts = ["A1", "B1", "B2", "C1", "A2", ("other", "三室"), ("other", "四室")]
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
            **_layout(rng.choice(layouts)),
            consent=True,
            data={
                "grade": rng.choice("AABBBCCCD"),
                "channel": rng.choice(channels),
                "purpose": rng.choice(["home", "upgrade", "investment"]),
                "budget_max": str(rng.choice([120, 150, 180, 220, 300])),
                "residence_district": rng.choice(
                    ["高新区", "武侯区", "锦江区", "双流区", "天府新区"]
                ),
                **_occupation(
                    occupations,
                    more.choice(
                        ["企业职员", "公务员", "教师", "医生", "私营业主", "IT 工程师", ""]
                    ),
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
            ownership_expires_at=cs.ownership_expiry(last),
        )
        customer.visits.update(visited_at=registered)
    # Ownership runs out after 30 days without a follow-up: those go to the pool.
    cs.pool_expire()
    # Today's follow-ups for the demo consultant's home page.
    registered_before = now - datetime.timedelta(days=3)
    for customer in Customer.objects.filter(
        project=project, owner=users["consultant"], registered_at__lt=registered_before
    )[:6]:
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
