"""Delivery 交房 services (issue 14 "Delivery"): batches notify every contracted deal of
the building; bookings within the batch's working days and slots, the slot's capacity;
the inspection's defects become repair orders due in working days; the handover checks
the inspection, the 两书 and the flags (money owed, an unsettled area difference), an
override is recorded, and the units turn 交付. Each refusal with its exact code."""

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from loupan.aftersales import delivery as s
from loupan.aftersales.models import (
    Delivery,
    DeliveryBatch,
    RepairOrder,
    Settlement,
)
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.core.workdays import add_working_days
from loupan.inventory.models import Unit, UnitStatus
from loupan.payments import services as pay
from loupan.payments.arrears import schedule_state
from tests.deals.helpers import project, subscribed, user

pytestmark = pytest.mark.django_db

SLOTS = ["09:00-12:00", "14:00-17:00"]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def code_of(call):
    with pytest.raises(DomainError) as info:
        call()
    return info.value


def new_batch(deal, capacity=1, **kw):
    today = timezone.localdate()
    return s.batch_create(
        actor=user("service"),
        project=project(),
        building=deal.unit.building,
        name="测试批次",
        starts_on=kw.pop("starts_on", today),
        ends_on=kw.pop("ends_on", today + datetime.timedelta(days=21)),
        slots=SLOTS,
        slot_capacity=capacity,
        requirements=["购房合同原件", "身份证"],
        notice="请准时办理",
        **kw,
    )


def fresh(phone="13700003001", capacity=1):
    """A new signed deal and its delivery in a new batch of its building."""
    deal = subscribed(phone=phone, contract=True)
    batch = new_batch(deal, capacity)
    return Delivery.objects.get(deal=deal), batch


def workday(batch, index=0):
    return s.batch_days(batch)[index]


def weekend(batch):
    day = batch.starts_on
    while day.weekday() < 5:
        day += datetime.timedelta(days=1)
    return day


def booked(delivery, batch, index=0, slot=SLOTS[0]):
    return s.delivery_book(
        actor=user("service"), delivery=delivery, day=workday(batch, index), slot=slot
    )


def inspected(delivery, batch, defects=()):
    booked(delivery, batch)
    return s.delivery_inspect(
        actor=user("service"), delivery=delivery, note="验房", defects=list(defects)
    )


def pay_all(deal):
    """Pay what the schedule owes: the loan items as the bank's disbursement, the rest by
    transfer."""
    from loupan.payments.models import LOAN_KINDS

    owed = {True: Decimal("0"), False: Decimal("0")}
    for x in schedule_state(deal):
        owed[x.item.kind in LOAN_KINDS] += max(x.owed, Decimal("0"))
    for loan, amount in owed.items():
        if amount > 0:
            pay.payment_record(
                actor=user("finance"),
                deal=deal,
                amount=amount,
                method="mortgage" if loan else "transfer",
                bank_reference="T-0001",
            )


def handover(delivery, **kw):
    args = {"quality_guarantee": True, "user_manual": True, "keys": 2}
    args.update(kw)
    return s.delivery_handover(actor=user("service"), delivery=delivery, **args)


# --- batches ---------------------------------------------------------------------------------


def test_a_batch_notifies_every_contracted_deal_of_the_building_once():
    deal = subscribed(phone="13700003002", contract=True)
    other = subscribed(phone="13700003003")  # subscribed, not signed: not notified
    batch = new_batch(deal)
    made = Delivery.objects.filter(batch=batch)
    assert deal.pk in {d.deal_id for d in made}
    assert other.pk not in {d.deal_id for d in made}
    assert all(d.status == "notified" and d.unit.building_id == deal.unit.building_id for d in made)
    assert AuditEntry.objects.filter(
        object_type="aftersales.deliverybatch", object_id=str(batch.pk)
    ).exists()
    # a second batch of the building does not take the same deals again
    again = new_batch(deal)
    assert not Delivery.objects.filter(batch=again, deal=deal).exists()


def test_batch_refusals():
    deal = subscribed(phone="13700003004", contract=True)
    err = code_of(lambda: new_batch(deal, capacity=0))
    assert err.code == "invalid" and "slot_capacity" in err.fields
    today = timezone.localdate()
    err = code_of(
        lambda: new_batch(deal, starts_on=today, ends_on=today - datetime.timedelta(days=1))
    )
    assert err.code == "invalid" and "ends_on" in err.fields
    err = code_of(
        lambda: s.batch_create(
            actor=user("service"),
            project=project(),
            building=deal.unit.building,
            name="x",
            starts_on=today,
            ends_on=today,
            slots=[],
            slot_capacity=1,
        )
    )
    assert err.code == "invalid" and "slots" in err.fields
    for name in ("consultant", "finance", "planner"):
        err = code_of(
            lambda name=name: s.batch_create(
                actor=user(name),
                project=project(),
                building=deal.unit.building,
                name="x",
                starts_on=today,
                ends_on=today,
                slots=SLOTS,
                slot_capacity=1,
            )
        )
        assert err.code == "permission_denied"


def test_batch_refresh_adds_the_deals_signed_since():
    deal = subscribed(phone="13700003005", contract=True)
    batch = new_batch(deal)
    later = subscribed(phone="13700003006", contract=True)
    if later.unit.building_id != deal.unit.building_id:
        pytest.skip("the next free unit is in another building")
    made = s.batch_refresh(actor=user("service"), batch=batch)
    assert [d.deal_id for d in made] == [later.pk]


# --- booking ---------------------------------------------------------------------------------


def test_booking_a_working_day_and_slot():
    delivery, batch = fresh("13700003010")
    delivery = booked(delivery, batch)
    assert delivery.status == "booked" and delivery.slot == SLOTS[0]
    assert delivery.appointment_on == workday(batch)
    # moved to another slot before the inspection
    delivery = booked(delivery, batch, 1, SLOTS[1])
    assert (delivery.appointment_on, delivery.slot) == (workday(batch, 1), SLOTS[1])


def test_booking_refusals():
    delivery, batch = fresh("13700003011")
    service = user("service")
    err = code_of(
        lambda: s.delivery_book(
            actor=service,
            delivery=delivery,
            day=batch.ends_on + datetime.timedelta(days=1),
            slot=SLOTS[0],
        )
    )
    assert err.code == "invalid" and "day" in err.fields
    err = code_of(
        lambda: s.delivery_book(actor=service, delivery=delivery, day=weekend(batch), slot=SLOTS[0])
    )
    assert err.code == "invalid" and "day" in err.fields and "工作日" in err.message
    err = code_of(
        lambda: s.delivery_book(
            actor=service, delivery=delivery, day=workday(batch), slot="20:00-22:00"
        )
    )
    assert err.code == "invalid" and "slot" in err.fields
    err = code_of(
        lambda: s.delivery_book(
            actor=user("consultant"), delivery=delivery, day=workday(batch), slot=SLOTS[0]
        )
    )
    assert err.code == "permission_denied"


def test_a_full_slot_refuses_the_next_booking():
    first = subscribed(phone="13700003012", contract=True)
    second = subscribed(phone="13700003013", contract=True)
    if first.unit.building_id != second.unit.building_id:
        pytest.skip("the two units are in different buildings")
    batch = new_batch(first, capacity=1)
    a, b = Delivery.objects.get(deal=first), Delivery.objects.get(deal=second)
    booked(a, batch)
    err = code_of(lambda: booked(b, batch))
    assert err.code == "slot_full" and "slot" in err.fields
    booked(b, batch, 0, SLOTS[1])  # the other slot of the day has room
    assert s.slot_counts(batch) == {(workday(batch), SLOTS[0]): 1, (workday(batch), SLOTS[1]): 1}


# --- inspection --------------------------------------------------------------------------------


def test_defects_become_repair_orders_due_in_working_days():
    delivery, batch = fresh("13700003020")
    photo = SimpleUploadedFile("crack.png", PNG, content_type="image/png")
    delivery = inspected(
        delivery,
        batch,
        [
            {"room": "主卧", "item": "墙面", "description": "裂缝", "photo": photo},
            {"room": "厨房", "item": "门窗", "description": "滑轨卡顿"},
            {"room": "", "item": "", "description": ""},  # an empty row of the form
        ],
    )
    assert delivery.status == "inspected" and delivery.inspected_at
    repairs = list(RepairOrder.objects.filter(defect__delivery=delivery).order_by("pk"))
    assert len(repairs) == 2
    due = add_working_days(timezone.localdate(), s.REPAIR_DUE_DAYS)
    for repair in repairs:
        assert repair.source == "inspection" and repair.status == "open"
        assert repair.due_on == due and repair.number.startswith("WX-")
        assert repair.deal_id == delivery.deal_id and repair.unit_id == delivery.unit_id
    assert repairs[0].defect.photo and repairs[0].defect.photo.name.endswith(".png")
    assert "主卧 墙面" in repairs[0].description


def test_inspection_refusals():
    delivery, batch = fresh("13700003021")
    service = user("service")
    err = code_of(lambda: s.delivery_inspect(actor=service, delivery=delivery, note=""))
    assert err.code == "stage_transition"  # not booked yet
    booked(delivery, batch)
    err = code_of(
        lambda: s.delivery_inspect(
            actor=service,
            delivery=delivery,
            defects=[{"room": "主卧", "item": "", "description": "x"}],
        )
    )
    assert err.code == "invalid" and "defects" in err.fields
    fake = SimpleUploadedFile("x.png", b"not a picture at all", content_type="image/png")
    err = code_of(
        lambda: s.delivery_inspect(
            actor=service,
            delivery=delivery,
            defects=[{"room": "主卧", "item": "墙", "description": "x", "photo": fake}],
        )
    )
    assert err.code == "invalid" and "照片" in err.message
    err = code_of(lambda: s.delivery_inspect(actor=user("consultant"), delivery=delivery))
    assert err.code == "permission_denied"
    assert not RepairOrder.objects.filter(defect__delivery=delivery).exists()


# --- handover ----------------------------------------------------------------------------------


def test_money_owed_flags_and_blocks_the_handover_until_overridden():
    delivery, batch = fresh("13700003030")
    delivery = inspected(delivery, batch)
    before = AuditEntry.objects.count()
    flags = s.flags_of(delivery)
    assert [f["code"] for f in flags] == ["money_owed"]
    assert AuditEntry.objects.count() == before  # computing the flags writes nothing
    err = code_of(lambda: handover(delivery))
    assert err.code == "money_outstanding" and "override_reason" in err.fields
    assert Unit.objects.get(pk=delivery.unit_id).status == UnitStatus.CONTRACTED
    delivery = handover(delivery, override_reason="业主出具付款承诺书，经理批准")
    assert delivery.status == "delivered" and delivery.keys_given == 2
    assert [f["code"] for f in delivery.flags] == ["money_owed", "override"]
    assert delivery.flags[-1]["reason"] == "业主出具付款承诺书，经理批准"
    entry = AuditEntry.objects.filter(
        object_type="aftersales.delivery", object_id=str(delivery.pk)
    ).latest("id")
    assert entry.extra["override_reason"] == "业主出具付款承诺书，经理批准"
    assert Unit.objects.get(pk=delivery.unit_id).status == UnitStatus.DELIVERED


def test_a_paid_home_is_handed_over_and_turns_delivered():
    delivery, batch = fresh("13700003031")
    pay_all(delivery.deal)
    delivery = inspected(delivery, batch)
    assert s.flags_of(delivery) == []
    delivery = handover(delivery, keys=3)
    assert delivery.status == "delivered" and delivery.flags == []
    assert delivery.quality_guarantee_given and delivery.user_manual_given
    assert delivery.delivered_by == user("service")
    for unit_id in delivery.deal.units.filter(live=True).values_list("unit_id", flat=True):
        assert Unit.objects.get(pk=unit_id).status == UnitStatus.DELIVERED
    err = code_of(lambda: handover(delivery))
    assert err.code == "stage_transition"


def test_handover_refusals():
    delivery, batch = fresh("13700003032")
    pay_all(delivery.deal)
    err = code_of(lambda: handover(delivery))
    assert err.code == "stage_transition"  # not inspected
    delivery = inspected(delivery, batch)
    err = code_of(lambda: handover(delivery, quality_guarantee=False))
    assert err.code == "invalid" and "quality_guarantee" in err.fields
    err = code_of(lambda: handover(delivery, user_manual=False))
    assert err.code == "invalid" and "user_manual" in err.fields
    err = code_of(lambda: handover(delivery, keys=0))
    assert err.code == "invalid" and "keys" in err.fields
    err = code_of(
        lambda: s.delivery_handover(
            actor=user("consultant"),
            delivery=delivery,
            quality_guarantee=True,
            user_manual=True,
            keys=1,
        )
    )
    assert err.code == "permission_denied"
    assert Delivery.objects.get(pk=delivery.pk).status == "inspected"


def test_an_unsettled_area_difference_is_flagged():
    delivery, batch = fresh("13700003033")
    pay_all(delivery.deal)
    Settlement.objects.create(
        project=project(),
        deal=delivery.deal,
        rule="legal",
        basis="gross",
        contract_area="100.00",
        measured_area="101.00",
        unit_price="20000.00",
        error_ratio="1.00",
        amount="20000.00",
        developer_bears="0.00",
        computed_by=user("service"),
        computed_at=timezone.now(),
        status="computed",
    )
    delivery = inspected(delivery, batch)
    flags = s.flags_of(delivery)
    assert [f["code"] for f in flags] == ["area_settlement"] and flags[0]["amount"] == "20000.00"
    err = code_of(lambda: handover(delivery))
    assert err.code == "money_outstanding"
    Settlement.objects.filter(deal=delivery.deal).update(status="settled")
    assert s.flags_of(delivery) == []


def test_the_demo_has_a_batch_a_delivered_home_and_repairs_in_every_state():
    main = project()
    batch = DeliveryBatch.objects.filter(project=main).first()
    assert batch is not None
    deliveries = Delivery.objects.filter(batch=batch)
    assert deliveries.filter(status="delivered").exists()
    assert deliveries.filter(status="inspected").exists()
    delivered = deliveries.filter(status="delivered").first()
    assert Unit.objects.get(pk=delivered.unit_id).status == UnitStatus.DELIVERED
    statuses = set(RepairOrder.objects.filter(project=main).values_list("status", flat=True))
    assert {"open", "assigned", "done", "closed"} <= statuses
    assert s.overdue_repairs(user("service"), main).exists()
    # the demo is idempotent
    from loupan.aftersales.delivery_demo import demo_delivery

    count = Delivery.objects.count()
    demo_delivery({"main": main, "users": {u: user(u) for u in ("service", "manager")}})
    assert Delivery.objects.count() == count
