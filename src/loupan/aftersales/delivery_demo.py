"""The demo office's delivery 交房 and repairs 维修 (called by aftersales/demo.py; issue 14
"Done when": a delivered building, repairs): a batch for the building of the main
project's contracted deals, appointments booked, one home handed over (overridden with a
reason if money is still owed), one inspected with defects whose repair orders stand in
every state (open and overdue, assigned, done, closed after the return visit), and an
owner's own call. Built once: a project that has a batch is left as it is."""

import datetime

from django.utils import timezone

from loupan.deals.models import Deal, DealStatus
from loupan.inventory.models import UnitStatus

from . import delivery as s
from .models import Delivery, DeliveryBatch, RepairOrder, RepairSource

SLOTS = ["09:00-12:00", "14:00-17:00"]
REQUIREMENTS = [
    "购房合同原件",
    "全体业主身份证原件（委托办理的带委托书及受托人身份证）",
    "全部购房款及面积补差款缴清凭证",
    "入伙通知书",
    "物业服务费、维修资金缴纳凭证",
]
DEFECTS = [
    {"room": "主卧", "item": "墙面", "description": "窗边墙面有一道约 30 厘米裂缝"},
    {"room": "卫生间", "item": "防水", "description": "地漏周边积水，排水坡度不足"},
    {"room": "厨房", "item": "门窗", "description": "推拉门滑轨卡顿"},
    {"room": "客厅", "item": "电气", "description": "电视墙一处插座无电"},
]


def _working_days(batch, today):
    past = [d for d in s.batch_days(batch) if d < today]
    future = [d for d in s.batch_days(batch) if d >= today]
    return past, future


def demo_delivery(context: dict) -> None:
    project, users = context["main"], context["users"]
    if DeliveryBatch.objects.filter(project=project).exists():
        return
    deal = (
        Deal.objects.filter(project=project, status=DealStatus.CONTRACTED)
        .select_related("unit__building")
        .order_by("pk")
        .first()
    )
    if deal is None:
        return
    service, manager = users["service"], users["manager"]
    today = timezone.localdate()
    building = deal.unit.building
    batch = s.batch_create(
        actor=service,
        project=project,
        building=building,
        name=f"{building.name}首批交房",
        starts_on=today - datetime.timedelta(days=14),
        ends_on=today + datetime.timedelta(days=30),
        slots=SLOTS,
        slot_capacity=5,
        requirements=REQUIREMENTS,
        notice="交房地点：售楼处二楼客户服务中心。请提前一个工作日电话预约，逾期未办理的视为房屋已交付。",
    )
    deliveries = list(
        Delivery.objects.filter(batch=batch).select_related("deal", "unit").order_by("deal_id")
    )
    if not deliveries:
        return
    past, future = _working_days(batch, today)
    days = (past[-3:] or future[:1]) + future[:3]

    # the first contracted deal (paid in full by the money demo): booked, inspected
    # without defects, handed over; should money still be owed, the manager lets it
    # through with a reason on record
    first = deliveries[0]
    s.delivery_book(actor=service, delivery=first, day=days[0], slot=SLOTS[0])
    s.delivery_inspect(actor=service, delivery=first, note="验房合格，业主无异议")
    flags = s.flags_of(first)
    if first.unit.status == UnitStatus.CONTRACTED:
        s.delivery_handover(
            actor=manager if flags else service,
            delivery=first,
            quality_guarantee=True,
            user_manual=True,
            keys=3,
            override_reason="业主已出具付款承诺书，经理批准先行交付" if flags else "",
        )

    if len(deliveries) > 1:
        # inspected with defects: each becomes a repair order, then one of each state
        second = deliveries[1]
        s.delivery_book(actor=service, delivery=second, day=days[1 % len(days)], slot=SLOTS[1])
        s.delivery_inspect(
            actor=service, delivery=second, note="业主提出四处问题，整改后复验", defects=DEFECTS
        )
        repairs = list(RepairOrder.objects.filter(defect__delivery=second).order_by("pk"))
        crack, leak, door, socket = repairs
        # the crack: still waiting for the repair team, past its due date (registered
        # ten days ago)
        RepairOrder.objects.filter(pk=crack.pk).update(
            due_on=today - datetime.timedelta(days=3),
            created_at=timezone.now() - datetime.timedelta(days=10),
        )
        s.repair_assign(actor=service, repair=leak, assigned_to=service, team="repair")
        s.repair_assign(actor=service, repair=door, assigned_to=service, team="construction")
        s.repair_done(actor=service, repair=door, note="更换滑轨，推拉顺畅")
        s.repair_assign(actor=service, repair=socket, assigned_to=service, team="repair")
        s.repair_done(actor=service, repair=socket, note="线路松脱，已重新接线")
        s.repair_visit(
            actor=service, repair=socket, note="业主确认已通电，对维修速度满意", satisfaction=5
        )

    for index, delivery in enumerate(deliveries[2:], start=2):
        # the rest have booked a day ahead
        s.delivery_book(
            actor=service,
            delivery=delivery,
            day=(future or days)[index % len(future or days)],
            slot=SLOTS[index % 2],
        )

    # an owner's own call after the keys
    if Delivery.objects.filter(pk=first.pk, status="delivered").exists():
        s.repair_create(
            actor=service,
            project=project,
            deal=first.deal,
            description="入住后发现阳台地漏返味",
            source=RepairSource.OWNER,
            team="property",
        )
