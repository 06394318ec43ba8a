"""Delivery 交房 and repairs 维修 (issue 14 "Delivery" and "Repairs"; seed 001 七 入住管理:
组织客户入伙发放"两书", 房屋维修联系: 联系房屋维修整改小组, 监督房屋维修工作, 组织对房屋维修客户
回访; seed 004 三(四)1 房屋交付: 通知客户交房时间、地点, 提供交房所需资料清单, 陪同客户验房).

* Services (writes; keyword-only, an explicit actor, one transaction each with its audit
  entry, the changed rows locked): ``batch_create`` (a building's batch and a delivery for
  every contracted deal of it), ``batch_refresh`` (the deals contracted since),
  ``delivery_book`` (a day and slot, the slot's capacity held under the batch's lock),
  ``delivery_inspect`` (the inspection 验房; each defect becomes a repair order),
  ``delivery_handover`` (the 两书 and the keys; the units turn 交付 on the board; money
  outstanding or an unsettled area difference refuses it unless overridden with a
  reason); ``repair_create``, ``repair_assign``, ``repair_done``, ``repair_visit``.
* ``flags_of(delivery)``: what stands in the way of the handover, computed (a page that
  shows it writes nothing).
* Selectors (reads restricted to what the user may see), the FilterSets shared by the
  pages and ``/api/v1/``, and the xlsx of the notice list and of the repairs.
"""

import datetime

import django_filters
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loupan.accounts import access
from loupan.accounts.models import Membership
from loupan.audit.services import audit_create, audit_record, audit_update
from loupan.core import numbering, xlsx
from loupan.core.dates import TODAY_OR_LATER, parse_date
from loupan.core.errors import DomainError, ErrorCode, conflict, invalid
from loupan.core.money import ZERO, money
from loupan.core.snapshot import snapshot
from loupan.core.uploads import validate_document
from loupan.core.workdays import add_working_days, is_working_day
from loupan.customers import exports as customer_exports
from loupan.deals.models import Deal, DealBuyer, DealStatus
from loupan.inventory import services as inventory_services
from loupan.inventory.models import Building, Unit, UnitStatus
from loupan.payments.arrears import schedule_state
from loupan.payments.services import received_of

from . import rules
from .errors import AftersalesError
from .models import (
    Complaint,
    Defect,
    Delivery,
    DeliveryBatch,
    DeliveryStatus,
    Department,
    RepairOrder,
    RepairSource,
    RepairStatus,
    Settlement,
    SettlementStatus,
)

# A repair is due this many working days after it is registered, unless set otherwise.
REPAIR_DUE_DAYS = 7
MAX_SLOTS = 12
MAX_DEFECTS = 50
PHOTO_TYPES = ("png", "jpg", "jpeg", "webp")
# Settlements still waiting to be settled before the keys (an amount the buyer pays that
# is not yet on the schedule).
UNSETTLED = (SettlementStatus.COMPUTED, SettlementStatus.NOTIFIED)

DELIVERY_COLORS = {
    DeliveryStatus.NOTIFIED: "secondary",
    DeliveryStatus.BOOKED: "info",
    DeliveryStatus.INSPECTED: "primary",
    DeliveryStatus.DELIVERED: "success",
}
REPAIR_COLORS = {
    RepairStatus.OPEN: "warning",
    RepairStatus.ASSIGNED: "info",
    RepairStatus.DONE: "primary",
    RepairStatus.CLOSED: "success",
}
# The allowed moves of a repair order; each service checks its own.
REPAIR_TRANSITIONS = {
    RepairStatus.OPEN: (RepairStatus.ASSIGNED,),
    RepairStatus.ASSIGNED: (RepairStatus.ASSIGNED, RepairStatus.DONE),
    RepairStatus.DONE: (RepairStatus.CLOSED,),
    RepairStatus.CLOSED: (),
}
OPEN_REPAIRS = (RepairStatus.OPEN, RepairStatus.ASSIGNED)


# --- parsing -----------------------------------------------------------------------------------


def _text(value, field, limit, required_message=None) -> str:
    text = str(value or "").strip()
    if required_message and not text:
        raise invalid(field, required_message)
    if len(text) > limit:
        raise invalid(field, _("最多 %(n)d 个字") % {"n": limit})
    return text


def _lines(value, field, *, limit, item_limit, required_message=None) -> list[str]:
    """A list of short texts (a JSON list, or one a line from a textarea)."""
    if value in (None, ""):
        items = []
    elif isinstance(value, str):
        items = value.splitlines()
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        raise invalid(field, _("格式有误"))
    out = []
    for item in items:
        if not isinstance(item, str):
            raise invalid(field, _("每一项须是文字"))
        text = item.strip()
        if not text:
            continue
        if len(text) > item_limit:
            raise invalid(field, _("每一项最多 %(n)d 个字") % {"n": item_limit})
        if text not in out:
            out.append(text)
    if required_message and not out:
        raise invalid(field, required_message)
    if len(out) > limit:
        raise invalid(field, _("最多 %(n)d 项") % {"n": limit})
    return out


def _int(value, field, *, low, high, message) -> int:
    if isinstance(value, bool | float):
        raise invalid(field, message)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise invalid(field, message) from exc
    if not low <= number <= high:
        raise invalid(field, message)
    return number


def _name(user) -> str:
    return (user.real_name or user.username) if user else ""


# --- who may ------------------------------------------------------------------------------------


def _manage(actor, project) -> None:
    rules.ensure(rules.can_manage(actor, project))


def may_manage(user, project) -> bool:
    return rules.can_manage(user, project)[0]


def may_export(user, project) -> bool:
    """The notice list and the repairs leave as files only for the office
    (``aftersales.view``), never for a consultant reading their own buyers'."""
    return rules.may_see_all(user, project)


# --- batches ------------------------------------------------------------------------------------


def _add_deliveries(batch, now) -> list[Delivery]:
    """A delivery (已通知) for every contracted deal whose main unit is in the batch's
    building and that has none yet."""
    deals = (
        Deal.objects.filter(
            project_id=batch.project_id,
            status=DealStatus.CONTRACTED,
            unit__building_id=batch.building_id,
            delivery__isnull=True,
        )
        .select_related("unit")
        .order_by("unit__number", "pk")
    )
    made = [
        Delivery(project_id=batch.project_id, batch=batch, deal=d, unit=d.unit, notified_at=now)
        for d in deals
    ]
    try:
        with transaction.atomic():
            Delivery.objects.bulk_create(made)
    except IntegrityError as exc:  # another batch took one of these deals at this instant
        raise DomainError(ErrorCode.CONFLICT) from exc
    return made


def batch_create(
    *,
    actor,
    project,
    building,
    name,
    starts_on,
    ends_on,
    slots,
    slot_capacity,
    requirements=(),
    notice: str = "",
) -> DeliveryBatch:
    """A delivery batch 交房批次 of a building (seed 004 三(四)1: 通知客户交房时间、地点,
    提供交房所需资料清单): the days it runs, the daily slots and how many homes each slot
    takes, what the owner must bring; a delivery 已通知 is created for every contracted
    deal whose main unit is in the building (a deal delivered in another batch is
    skipped: one delivery per deal)."""
    _manage(actor, project)
    if not isinstance(building, Building):
        building = (
            Building.objects.filter(project=project, pk=building).first()
            if str(building or "").isdigit()
            else None
        )
    if building is None or building.project_id != project.pk:
        raise invalid("building", _("请选择本项目的楼栋"))
    name = _text(name, "name", 50, _("请填写批次名称"))
    starts_on = parse_date(starts_on, "starts_on")
    ends_on = parse_date(ends_on, "ends_on")
    if starts_on is None:
        raise invalid("starts_on", _("请填写开始日期"))
    if ends_on is None:
        raise invalid("ends_on", _("请填写结束日期"))
    if ends_on < starts_on:
        raise invalid("ends_on", _("结束日期不能早于开始日期"))
    if (ends_on - starts_on).days > 366:
        raise invalid("ends_on", _("一个批次最长一年"))
    slots = _lines(
        slots, "slots", limit=MAX_SLOTS, item_limit=20, required_message=_("请至少填写一个时段")
    )
    capacity = _int(
        slot_capacity, "slot_capacity", low=1, high=500, message=_("每时段户数须是 1 至 500 的整数")
    )
    requirements = _lines(requirements, "requirements", limit=30, item_limit=100)
    notice = _text(notice, "notice", 2000)
    with transaction.atomic():
        # one batch at a time per building: the deals are shared out once
        Building.objects.select_for_update(of=("self",)).filter(pk=building.pk).first()
        now = timezone.now()
        batch = DeliveryBatch.objects.create(
            project=project,
            building=building,
            name=name,
            starts_on=starts_on,
            ends_on=ends_on,
            slots=slots,
            slot_capacity=capacity,
            requirements=requirements,
            notice=notice,
            created_by=actor,
        )
        made = _add_deliveries(batch, now)
        audit_create(
            actor=actor,
            obj=batch,
            extra={"deliveries": len(made), "units": [d.unit.number for d in made]},
        )
    return batch


def batch_refresh(*, actor, batch) -> list[Delivery]:
    """Notify the building's deals contracted since the batch was created (each gets its
    delivery 已通知); returns the new deliveries."""
    _manage(actor, batch.project)
    with transaction.atomic():
        Building.objects.select_for_update(of=("self",)).filter(pk=batch.building_id).first()
        batch = DeliveryBatch.objects.select_for_update(of=("self",)).get(pk=batch.pk)
        made = _add_deliveries(batch, timezone.now())
        if made:
            audit_record(
                actor=actor,
                action="update",
                obj=batch,
                changes={},
                extra={"added": [d.unit.number for d in made]},
            )
    return made


# --- flags --------------------------------------------------------------------------------------


def flags_of(delivery) -> list[dict]:
    """What stands in the way of the keys (issue 14: a unit with money outstanding or an
    unsettled area difference is flagged, never delivered silently), computed from the
    ledger and the settlement, never stored by a read:

    * ``money_owed``: the payment schedule still owes (the area settlement's own item
      apart), or, for a deal without a schedule, its total less what was received;
    * ``area_settlement``: an area settlement the buyer pays that is computed or notified
      but not yet scheduled, or scheduled and still owed."""
    deal = delivery.deal
    flags = []
    settlement = Settlement.objects.filter(deal_id=deal.pk).first()
    settlement_item = settlement.schedule_item_id if settlement else None
    states = schedule_state(deal)
    if states:
        owed = sum((max(s.owed, ZERO) for s in states if s.item.pk != settlement_item), ZERO)
    else:
        owed = max(money(deal.total or 0) - received_of(deal), ZERO)
    if owed > 0:
        flags.append(
            {
                "code": "money_owed",
                "label": _("房款未付清"),
                "amount": str(money(owed)),
                "detail": _("付款计划尚欠 %(a)s 元") % {"a": money(owed)},
            }
        )
    if settlement is not None:
        amount = money(settlement.amount)
        if settlement.status in UNSETTLED and amount > 0:
            flags.append(
                {
                    "code": "area_settlement",
                    "label": _("面积补差未结清"),
                    "amount": str(amount),
                    "detail": _("面积补差 %(a)s 元（%(s)s）")
                    % {"a": amount, "s": settlement.get_status_display()},
                }
            )
        elif settlement_item is not None:
            left = sum((max(s.owed, ZERO) for s in states if s.item.pk == settlement_item), ZERO)
            if left > 0:
                flags.append(
                    {
                        "code": "area_settlement",
                        "label": _("面积补差未结清"),
                        "amount": str(money(left)),
                        "detail": _("面积补差尚欠 %(a)s 元") % {"a": money(left)},
                    }
                )
    return flags


# --- one delivery -------------------------------------------------------------------------------


def _lock_delivery(delivery) -> Delivery:
    return (
        Delivery.objects.select_for_update(of=("self",))
        .select_related("batch", "deal", "unit", "project")
        .get(pk=delivery.pk)
    )


def _stage(delivery, allowed, message) -> None:
    if delivery.status not in allowed:
        raise conflict(message, "status", AftersalesError.STAGE_TRANSITION)


def slot_counts(batch) -> dict[tuple, int]:
    """(day, slot) → how many homes are booked in it (one query)."""
    rows = (
        Delivery.objects.filter(batch=batch)
        .exclude(appointment_on=None)
        .order_by()
        .values_list("appointment_on", "slot")
        .annotate(n=Count("pk"))
    )
    return {(day, slot): n for day, slot, n in rows}


def batch_days(batch) -> list[datetime.date]:
    """The working days of the batch (the days an owner may book)."""
    days, day = [], batch.starts_on
    while day <= batch.ends_on:
        if is_working_day(day):
            days.append(day)
        day += datetime.timedelta(days=1)
    return days


def delivery_book(*, actor, delivery, day, slot) -> Delivery:
    """The owner's appointment 预约: a working day of the batch and one of its slots; a
    slot takes at most the batch's ``slot_capacity`` homes a day, held under the batch
    row's lock so that two bookings at the same instant cannot both take the last place.
    A booking may be moved until the inspection."""
    _manage(actor, delivery.project)
    day = parse_date(day, "day")
    if day is None:
        raise invalid("day", _("请选择预约日期"))
    slot = str(slot or "").strip()
    with transaction.atomic():
        batch = DeliveryBatch.objects.select_for_update(of=("self",)).get(pk=delivery.batch_id)
        delivery = _lock_delivery(delivery)
        _stage(
            delivery,
            (DeliveryStatus.NOTIFIED, DeliveryStatus.BOOKED),
            _("交房当前为「%(s)s」，验房后不能再改预约。") % {"s": delivery.get_status_display()},
        )
        rules.ensure(rules.contracted(delivery.deal))
        if not batch.starts_on <= day <= batch.ends_on:
            raise invalid(
                "day",
                _("预约日期须在批次期间 %(a)s 至 %(b)s 内")
                % {"a": f"{batch.starts_on:%Y-%m-%d}", "b": f"{batch.ends_on:%Y-%m-%d}"},
            )
        if not is_working_day(day):
            raise invalid("day", _("%(d)s 不是工作日") % {"d": f"{day:%Y-%m-%d}"})
        if slot not in batch.slots:
            raise invalid("slot", _("请选择批次的时段：%(s)s") % {"s": "、".join(batch.slots)})
        if (delivery.appointment_on, delivery.slot) == (day, slot):
            return delivery
        taken = (
            Delivery.objects.filter(batch=batch, appointment_on=day, slot=slot)
            .exclude(pk=delivery.pk)
            .count()
        )
        if taken >= batch.slot_capacity:
            raise conflict(
                _("%(d)s %(s)s 已预约 %(n)d 户，已满，请选择其他时段。")
                % {"d": f"{day:%Y-%m-%d}", "s": slot, "n": taken},
                "slot",
                AftersalesError.SLOT_FULL,
            )
        before = snapshot(delivery)
        delivery.appointment_on, delivery.slot = day, slot
        delivery.status = DeliveryStatus.BOOKED
        delivery.save(update_fields=["appointment_on", "slot", "status"])
        audit_update(actor=actor, obj=delivery, before=before, extra={"unit": delivery.unit.number})
    return delivery


def _defect_rows(defects) -> list[dict]:
    if defects in (None, ""):
        return []
    if not isinstance(defects, list | tuple):
        raise invalid("defects", _("验房问题格式有误"))
    if len(defects) > MAX_DEFECTS:
        raise invalid("defects", _("一次最多记录 %(n)d 个问题") % {"n": MAX_DEFECTS})
    rows = []
    for index, raw in enumerate(defects, start=1):
        if not isinstance(raw, dict):
            raise invalid("defects", _("验房问题格式有误"))
        if not any(str(raw.get(k) or "").strip() for k in ("room", "item", "description")):
            if raw.get("photo"):
                raise invalid("defects", _("第 %(i)d 个问题：有照片但没有内容") % {"i": index})
            continue  # an empty row of the form

        def need(key, limit, label, i=index, row=raw):
            text = str(row.get(key) or "").strip()
            if not text:
                raise invalid("defects", _("第 %(i)d 个问题：请填写%(l)s") % {"i": i, "l": label})
            if len(text) > limit:
                raise invalid(
                    "defects",
                    _("第 %(i)d 个问题：%(l)s最多 %(n)d 个字") % {"i": i, "l": label, "n": limit},
                )
            return text

        row = {
            "room": need("room", 30, _("房间部位")),
            "item": need("item", 50, _("项目")),
            "description": need("description", 300, _("问题描述")),
            "photo": raw.get("photo") or None,
        }
        if row["photo"] is not None:
            try:
                row["extension"] = validate_document(row["photo"], allowed=PHOTO_TYPES)
            except ValidationError as exc:
                raise invalid(
                    "defects",
                    _("第 %(i)d 个问题的照片：%(m)s") % {"i": index, "m": exc.messages[0]},
                ) from exc
        rows.append(row)
    return rows


def _new_repair(*, actor, project, deal, unit, source, description, team, due_on, **links):
    repair = RepairOrder.objects.create(
        project=project,
        number=numbering.next_number(project, "repair"),
        deal=deal,
        unit=unit,
        source=source,
        description=description,
        team=team,
        due_on=due_on,
        created_by=actor,
        **links,
    )
    audit_create(actor=actor, obj=repair, extra={"unit": unit.number})
    return repair


def delivery_inspect(*, actor, delivery, note: str = "", defects=()) -> Delivery:
    """The inspection 验房 with the owner (seed 004 三(四)1: 陪同客户验房): the opinion
    and the defects found (room, item, description, a photo); each defect becomes a repair
    order 维修单 (source 验房问题) for the repair team, due ``REPAIR_DUE_DAYS`` working
    days later. A second inspection (复验) adds its defects; after the handover none."""
    _manage(actor, delivery.project)
    note = _text(note, "note", 300)
    rows = _defect_rows(defects)
    with transaction.atomic():
        delivery = _lock_delivery(delivery)
        _stage(
            delivery,
            (DeliveryStatus.BOOKED, DeliveryStatus.INSPECTED),
            _("交房当前为「%(s)s」，预约后才能验房，交付后不能再验房。")
            % {"s": delivery.get_status_display()},
        )
        rules.ensure(rules.contracted(delivery.deal))
        before = snapshot(delivery)
        now = timezone.now()
        due_on = add_working_days(timezone.localdate(), REPAIR_DUE_DAYS)
        numbers = []
        for row in rows:
            defect = Defect.objects.create(
                delivery=delivery,
                room=row["room"],
                item=row["item"],
                description=row["description"],
            )
            if row["photo"] is not None:
                defect.photo.save(
                    f"{delivery.project_id}/{delivery.pk}-{defect.pk}.{row['extension']}",
                    row["photo"],
                    save=True,
                )
            audit_create(actor=actor, obj=defect, extra={"unit": delivery.unit.number})
            repair = _new_repair(
                actor=actor,
                project=delivery.project,
                deal=delivery.deal,
                unit=delivery.unit,
                source=RepairSource.INSPECTION,
                description=f"{row['room']} {row['item']}：{row['description']}"[:300],
                team=Department.REPAIR,
                due_on=due_on,
                defect=defect,
            )
            numbers.append(repair.number)
        delivery.status = DeliveryStatus.INSPECTED
        delivery.inspected_at = now
        if note or not delivery.inspection_note:
            delivery.inspection_note = note
        delivery.save(update_fields=["status", "inspected_at", "inspection_note"])
        audit_update(
            actor=actor,
            obj=delivery,
            before=before,
            extra={"unit": delivery.unit.number, "defects": len(rows), "repairs": numbers},
        )
    return delivery


def delivery_handover(
    *,
    actor,
    delivery,
    quality_guarantee,
    user_manual,
    keys,
    override_reason: str = "",
) -> Delivery:
    """The handover 交付 (seed 001 七(1) 组织客户入伙发放"两书"): after the inspection,
    the 住宅质量保证书 and 住宅使用说明书 both given and the keys counted; the deal's units
    turn 交付 on the board. ``flags_of`` refuses it (MONEY_OUTSTANDING) while money is
    owed or an area difference is unsettled, unless someone who manages after sales
    gives an ``override_reason``: the flags and the reason are kept on the delivery and
    in the audit entry."""
    _manage(actor, delivery.project)
    override_reason = _text(override_reason, "override_reason", 300)
    keys = _int(keys, "keys", low=1, high=50, message=_("请填写交付钥匙数（1 至 50 把）"))
    with transaction.atomic():
        # the ledger's lock order: the deal, then its delivery
        Deal.objects.select_for_update(of=("self",)).filter(pk=delivery.deal_id).first()
        delivery = _lock_delivery(delivery)
        if delivery.status == DeliveryStatus.DELIVERED:
            raise conflict(_("该房间已交付。"), "status", AftersalesError.STAGE_TRANSITION)
        _stage(
            delivery,
            (DeliveryStatus.INSPECTED,),
            _("交房当前为「%(s)s」，验房后才能交付。") % {"s": delivery.get_status_display()},
        )
        rules.ensure(rules.contracted(delivery.deal))
        if not quality_guarantee:
            raise invalid("quality_guarantee", _("请交付《住宅质量保证书》"))
        if not user_manual:
            raise invalid("user_manual", _("请交付《住宅使用说明书》"))
        flags = flags_of(delivery)
        if flags and not override_reason:
            raise conflict(
                _("%(f)s，不能交付；确需先交付的，请由售后负责人填写放行原因。")
                % {"f": "；".join(f["detail"] for f in flags)},
                "override_reason",
                AftersalesError.MONEY_OUTSTANDING,
            )
        rules.ensure(rules.can_manage(actor, delivery.project))
        before = snapshot(delivery)
        now = timezone.now()
        unit_ids = list(
            delivery.deal.units.filter(live=True).values_list("unit_id", flat=True)
        ) or [delivery.unit_id]
        inventory_services.units_deal_move(
            actor=actor,
            project=delivery.project,
            unit_ids=unit_ids,
            to_status=UnitStatus.DELIVERED,
            expected=(UnitStatus.CONTRACTED,),
            reason=_("交房 %(b)s") % {"b": delivery.batch.name},
        )
        recorded = [dict(f) for f in flags]
        if flags:
            recorded.append(
                {
                    "code": "override",
                    "label": _("放行交付"),
                    "reason": override_reason,
                    "by": _name(actor),
                    "at": now.isoformat(),
                }
            )
        delivery.flags = recorded
        delivery.quality_guarantee_given = True
        delivery.user_manual_given = True
        delivery.keys_given = keys
        delivery.delivered_at, delivery.delivered_by = now, actor
        delivery.status = DeliveryStatus.DELIVERED
        delivery.save()
        extra = {"unit": delivery.unit.number, "units": len(unit_ids)}
        if flags:
            extra.update({"override_reason": override_reason, "flags": [f["code"] for f in flags]})
        audit_update(actor=actor, obj=delivery, before=before, extra=extra)
    return delivery


# --- repairs ------------------------------------------------------------------------------------


def _team(value) -> str:
    if value in (None, ""):
        return Department.REPAIR
    if value not in Department.values:
        raise invalid("team", _("请选择责任单位"))
    return value


def _due(value, field="due_on"):
    return parse_date(value, field, when=TODAY_OR_LATER, message=_("要求完成日期不能早于今天"))


def repair_create(
    *,
    actor,
    project,
    description,
    source=RepairSource.OWNER,
    unit=None,
    deal=None,
    team=None,
    due_on=None,
    complaint=None,
) -> RepairOrder:
    """A repair order 维修单 (seed 001 七(2) 房屋维修联系) from the owner's call or a
    complaint (an inspection's come from ``delivery_inspect``): the unit (or the deal,
    whose main unit it is), what to repair, the team that answers for it and the due
    date (``REPAIR_DUE_DAYS`` working days by default)."""
    _manage(actor, project)
    description = _text(description, "description", 300, _("请填写维修内容"))
    if source not in (RepairSource.OWNER, RepairSource.COMPLAINT):
        raise invalid("source", _("请选择来源（业主报修或投诉）；验房问题由验房记录生成"))
    if deal is not None and not isinstance(deal, Deal):
        deal = (
            Deal.objects.filter(project=project, pk=deal).first() if str(deal).isdigit() else None
        )
        if deal is None:
            raise invalid("deal", _("交易不存在"))
    if deal is not None and deal.project_id != project.pk:
        raise invalid("deal", _("交易不属于本项目"))
    if unit is not None and not isinstance(unit, Unit):
        unit = (
            Unit.objects.filter(project=project, pk=unit).first() if str(unit).isdigit() else None
        )
        if unit is None:
            raise invalid("unit", _("房间不存在"))
    if unit is None and deal is None:
        raise invalid("unit", _("请选择房间"))
    if unit is not None and unit.project_id != project.pk:
        raise invalid("unit", _("房间不属于本项目"))
    if unit is None:
        unit = deal.unit
    if deal is None:  # the unit's live, signed deal: its owner
        deal = Deal.objects.filter(
            units__unit=unit, units__live=True, status=DealStatus.CONTRACTED
        ).first()
    elif not deal.units.filter(unit=unit, live=True).exists() and deal.unit_id != unit.pk:
        raise invalid("unit", _("房间不属于该交易"))
    if source == RepairSource.COMPLAINT:
        if complaint is not None and not isinstance(complaint, Complaint):
            complaint = (
                Complaint.objects.filter(project=project, pk=complaint).first()
                if str(complaint).isdigit()
                else None
            )
        if complaint is None or complaint.project_id != project.pk:
            raise invalid("complaint", _("请选择本项目的投诉"))
    else:
        complaint = None
    team = _team(team)
    due_on = _due(due_on) or add_working_days(timezone.localdate(), REPAIR_DUE_DAYS)
    with transaction.atomic():
        return _new_repair(
            actor=actor,
            project=project,
            deal=deal,
            unit=unit,
            source=source,
            description=description,
            team=team,
            due_on=due_on,
            complaint=complaint,
        )


def _lock_repair(repair) -> RepairOrder:
    return (
        RepairOrder.objects.select_for_update(of=("self",))
        .select_related("project", "unit", "deal")
        .get(pk=repair.pk)
    )


def _repair_move(repair, target) -> None:
    if target not in REPAIR_TRANSITIONS[RepairStatus(repair.status)]:
        raise conflict(
            _("维修单当前为「%(a)s」，不能转为「%(b)s」。")
            % {"a": repair.get_status_display(), "b": RepairStatus(target).label},
            "status",
            AftersalesError.STAGE_TRANSITION,
        )


def assignees(project):
    """Who a repair may be given to: the project's active members."""
    ids = Membership.objects.filter(project=project, user__is_active=True).values("user_id")
    return get_user_model().objects.filter(pk__in=ids).order_by("real_name", "username")


def repair_assign(*, actor, repair, assigned_to, team=None, due_on=None) -> RepairOrder:
    """派工 (seed 001 七(2) 联系房屋维修整改小组): the person who answers for the repair,
    the team and, when given, a new due date; an assigned repair may be given to
    someone else."""
    _manage(actor, repair.project)
    pk = getattr(assigned_to, "pk", assigned_to)
    person = assignees(repair.project).filter(pk=pk).first() if str(pk or "").isdigit() else None
    if person is None:
        raise invalid("assigned_to", _("请选择本项目的维修负责人"))
    team = _team(team) if team not in (None, "") else None
    due_on = _due(due_on)
    with transaction.atomic():
        repair = _lock_repair(repair)
        _repair_move(repair, RepairStatus.ASSIGNED)
        before = snapshot(repair)
        repair.assigned_to = person
        repair.team = team or repair.team
        repair.due_on = due_on or repair.due_on
        repair.status = RepairStatus.ASSIGNED
        repair.save()
        audit_update(actor=actor, obj=repair, before=before)
    return repair


def repair_done(*, actor, repair, note) -> RepairOrder:
    """完工: the repair team's report."""
    _manage(actor, repair.project)
    note = _text(note, "note", 300, _("请填写完工说明"))
    with transaction.atomic():
        repair = _lock_repair(repair)
        _repair_move(repair, RepairStatus.DONE)
        before = snapshot(repair)
        repair.status, repair.done_at, repair.done_note = RepairStatus.DONE, timezone.now(), note
        repair.save()
        audit_update(actor=actor, obj=repair, before=before)
    return repair


def repair_visit(*, actor, repair, note, satisfaction) -> RepairOrder:
    """The return visit 回访 (seed 001 七(2) 组织对房屋维修客户回访): the owner's word
    and satisfaction (1–5) close the order."""
    _manage(actor, repair.project)
    note = _text(note, "note", 300, _("请填写回访记录"))
    satisfaction = _int(
        satisfaction, "satisfaction", low=1, high=5, message=_("满意度须是 1 至 5 的整数")
    )
    with transaction.atomic():
        repair = _lock_repair(repair)
        _repair_move(repair, RepairStatus.CLOSED)
        before = snapshot(repair)
        repair.status, repair.visited_at = RepairStatus.CLOSED, timezone.now()
        repair.visit_note, repair.satisfaction = note, satisfaction
        repair.save()
        audit_update(actor=actor, obj=repair, before=before)
    return repair


def is_overdue(repair, today=None) -> bool:
    today = today or timezone.localdate()
    return repair.status in OPEN_REPAIRS and repair.due_on < today


def repair_abilities(user, repair) -> dict:
    manage = may_manage(user, repair.project)
    return {
        "assign": manage and repair.status in (RepairStatus.OPEN, RepairStatus.ASSIGNED),
        "done": manage and repair.status == RepairStatus.ASSIGNED,
        "visit": manage and repair.status == RepairStatus.DONE,
    }


def delivery_abilities(user, delivery) -> dict:
    manage = may_manage(user, delivery.project) and delivery.deal.status == DealStatus.CONTRACTED
    status = delivery.status
    return {
        "book": manage and status in (DeliveryStatus.NOTIFIED, DeliveryStatus.BOOKED),
        "inspect": manage and status in (DeliveryStatus.BOOKED, DeliveryStatus.INSPECTED),
        "handover": manage and status == DeliveryStatus.INSPECTED,
    }


# --- selectors ----------------------------------------------------------------------------------


def batches_visible(user):
    """The batches the user may see: a project's (``aftersales.view``), or those holding
    a consultant's own buyers' deliveries (``aftersales.view_own``)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return DeliveryBatch.objects.none()
    if user.is_superuser:
        return DeliveryBatch.objects.all()
    q = Q(project__in=access.projects_with(user, "aftersales.view"))
    own = access.projects_with(user, "aftersales.view_own")
    if own:
        q |= Q(project__in=own, deliveries__deal__consultant=user)
    return DeliveryBatch.objects.filter(pk__in=DeliveryBatch.objects.filter(q).values("pk"))


def batches_of(user, project):
    return batches_visible(user).filter(project=project).select_related("building")


def deliveries_of(user, project):
    """The project's deliveries the user may see (a consultant: their own buyers')."""
    return (
        Delivery.objects.restrict(user, "view")
        .filter(project=project)
        .select_related("unit", "deal__customer", "deal__consultant", "batch")
    )


def repairs_of(user, project):
    return (
        RepairOrder.objects.restrict(user, "view")
        .filter(project=project)
        .select_related("unit", "deal__customer", "assigned_to")
    )


def owners_of(deals) -> dict[int, list[str]]:
    """deal id → its buyers' names in order (one query)."""
    names: dict[int, list[str]] = {}
    for deal_id, name in (
        DealBuyer.objects.filter(deal__in=deals)
        .order_by("deal_id", "sort_order", "pk")
        .values_list("deal_id", "customer__name")
    ):
        names.setdefault(deal_id, []).append(name)
    return names


def owner_names(deal, names=None) -> str:
    """The deal's owners' names (``names`` from ``owners_of``, or one query)."""
    if names is None:
        names = owners_of([deal.pk])
    return "、".join(names.get(deal.pk) or [deal.customer.name])


def status_counts(queryset, choices) -> list[tuple[str, str, int]]:
    counts = dict(queryset.order_by().values_list("status").annotate(n=Count("pk")))
    return [(c.value, c.label, counts.get(c.value, 0)) for c in choices]


class DeliveryFilterSet(django_filters.FilterSet):
    """The deliveries of a batch page and ``/api/v1/deliveries/``."""

    q = django_filters.CharFilter(label=gettext_lazy("房号 / 业主"), method="search")
    status = django_filters.ChoiceFilter(label=gettext_lazy("状态"), choices=DeliveryStatus.choices)
    appointment_on = django_filters.DateFilter(label=gettext_lazy("预约日期"))

    class Meta:
        model = Delivery
        fields = ["q", "status", "appointment_on"]

    def search(self, queryset, name, value):
        text = (value or "").strip()
        if not text:
            return queryset
        return queryset.filter(
            Q(unit__number__icontains=text)
            | Q(deal__customer__name__icontains=text)
            | Q(deal__contract_number__icontains=text)
        )


class RepairFilterSet(django_filters.FilterSet):
    """The repairs list and ``/api/v1/repairs/``: status, team, source, overdue, search."""

    q = django_filters.CharFilter(label=gettext_lazy("单号 / 房号 / 内容"), method="search")
    status = django_filters.ChoiceFilter(label=gettext_lazy("状态"), choices=RepairStatus.choices)
    team = django_filters.ChoiceFilter(label=gettext_lazy("责任单位"), choices=Department.choices)
    source = django_filters.ChoiceFilter(label=gettext_lazy("来源"), choices=RepairSource.choices)
    overdue = django_filters.BooleanFilter(label=gettext_lazy("已逾期"), method="filter_overdue")

    class Meta:
        model = RepairOrder
        fields = ["q", "status", "team", "source", "overdue"]

    def search(self, queryset, name, value):
        text = (value or "").strip()
        if not text:
            return queryset
        return queryset.filter(
            Q(number__icontains=text)
            | Q(unit__number__icontains=text)
            | Q(description__icontains=text)
        )

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        late = Q(status__in=OPEN_REPAIRS, due_on__lt=timezone.localdate())
        return queryset.filter(late) if value else queryset.exclude(late)


def overdue_repairs(user, project):
    """Repairs past their due date and not done (supervision: seed 001 七(2) 监督房屋维修)."""
    return (
        repairs_of(user, project)
        .filter(status__in=OPEN_REPAIRS, due_on__lt=timezone.localdate())
        .order_by("due_on", "pk")
    )


# --- xlsx ---------------------------------------------------------------------------------------

_c = xlsx.col

NOTICE_COLUMNS = [
    _c("batch", "交房批次", width=16),
    _c("building", "楼栋", width=8),
    _c("unit", "房间", width=12),
    _c("owners", "业主", width=16),
    _c("contract", "合同编号", width=18),
    _c("status", "状态", width=8),
    _c("appointment_on", "预约日期", width=12),
    _c("slot", "时段", width=12),
    _c("flags", "交付提示", width=30),
    _c("inspected_at", "验房时间", "datetime", width=16),
    _c("delivered_at", "交付时间", "datetime", width=16),
    _c("keys", "钥匙（把）", "integer", width=8),
]

REPAIR_COLUMNS = [
    _c("number", "维修单号", width=18),
    _c("unit", "房间", width=12),
    _c("owner", "业主", width=12),
    _c("source", "来源", width=10),
    _c("description", "维修内容", width=36),
    _c("team", "责任单位", width=10),
    _c("assigned_to", "维修负责人", width=10),
    _c("status", "状态", width=10),
    _c("created_at", "登记时间", "datetime", width=16),
    _c("due_on", "要求完成日期", width=12),
    _c("overdue", "逾期天数", "integer", width=8),
    _c("done_at", "完工时间", "datetime", width=16),
    _c("satisfaction", "满意度", "integer", width=8),
    _c("visit_note", "回访记录", width=24),
]


def _d(value) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def _flag_text(delivery, computed=None) -> str:
    flags = computed if computed is not None else delivery.flags
    return "；".join(str(f.get("detail") or f.get("reason") or f.get("label", "")) for f in flags)


def notices_export(*, actor, project, batch, queryset, filters: dict) -> bytes:
    """The notice list 入伙通知 of a batch as xlsx, audited as an export."""
    if not may_export(actor, project):
        raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有导出入伙通知名单的权限"))
    # it names the owners: with the manager's consent where the project wants it
    customer_exports.require_consent(project)
    deliveries = list(queryset)
    names = owners_of([d.deal_id for d in deliveries])

    def rows():
        for d in deliveries:
            computed = d.flags if d.status == DeliveryStatus.DELIVERED else flags_of(d)
            yield [
                batch.name,
                batch.building.name,
                d.unit.number,
                owner_names(d.deal, names),
                d.deal.contract_number,
                d.get_status_display(),
                _d(d.appointment_on),
                d.slot,
                _flag_text(d, computed),
                d.inspected_at,
                d.delivered_at,
                d.keys_given or None,
            ]

    content, _count = xlsx.export_audited(
        actor=actor,
        project=project,
        what="aftersales.delivery",
        sheet="入伙通知名单",
        columns=NOTICE_COLUMNS,
        rows=rows(),
        filters={"batch": batch.pk, **filters},
    )
    return content


def repairs_export(*, actor, project, queryset, filters: dict) -> bytes:
    """The repairs 维修单 as xlsx, audited as an export with its filters."""
    if not may_export(actor, project):
        raise DomainError(ErrorCode.PERMISSION_DENIED, _("您没有导出维修单的权限"))
    # it names the owners: with the manager's consent where the project wants it
    customer_exports.require_consent(project)
    today = timezone.localdate()

    def rows():
        for r in queryset.iterator(chunk_size=500):
            yield [
                r.number,
                r.unit.number,
                r.deal.customer.name if r.deal else "",
                r.get_source_display(),
                r.description,
                r.get_team_display(),
                _name(r.assigned_to),
                r.get_status_display(),
                r.created_at,
                _d(r.due_on),
                (today - r.due_on).days if is_overdue(r, today) else 0,
                r.done_at,
                r.satisfaction,
                r.visit_note,
            ]

    content, _count = xlsx.export_audited(
        actor=actor,
        project=project,
        what="aftersales.repairorder",
        sheet="维修单",
        columns=REPAIR_COLUMNS,
        rows=rows(),
        filters=filters,
    )
    return content
