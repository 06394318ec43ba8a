"""Writes on projects and presale permits (one transaction and audit entry each)."""

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from loupan.accounts.access import clear_cache, has_perm, require_perm
from loupan.accounts.models import Membership, Role
from loupan.audit.models import AuditAction
from loupan.audit.services import audit_create, audit_record, audit_update
from loupan.core.errors import DomainError, ErrorCode, PermissionDenied
from loupan.core.services import coerce, lock, object_create, object_delete, object_update, validate
from loupan.core.snapshot import snapshot

from .models import (
    Building,
    Company,
    Layout,
    Phase,
    PresalePermit,
    PricingBasis,
    Project,
    ProjectStatus,
    ReleasePlan,
    Unit,
    UnitStatus,
    UnitStatusChange,
    UnitUse,
)
from .price_history import PRICE_FIELDS, price_record, price_record_new

PROJECT_FIELDS = [
    "company",
    "name",
    "code",
    "city",
    "district",
    "address",
    "sales_office_phone",
    "default_pricing_basis",
    "status",
    "is_active",
    "note",
]
PERMIT_FIELDS = ["number", "issued_on", "authority", "buildings", "area"]
COMPANY_FIELDS = ["name", "short_name", "credit_code", "address", "phone"]


def company_create(*, actor, data: dict) -> Company:
    if not has_perm(actor, "project.add"):
        raise PermissionDenied()
    return object_create(actor=actor, model=Company, data=data, perm="project.add")


def company_update(*, actor, company: Company, data: dict) -> Company:
    if not has_perm(actor, "project.add"):
        raise PermissionDenied()
    return object_update(actor=actor, obj=company, data=data, perm="project.add")


def project_create(*, actor, data: dict) -> Project:
    """A new project. Needs ``project.add`` on some project; the creator (unless a
    superuser) becomes the new project's system administrator so that someone can grant
    its roles."""
    if not has_perm(actor, "project.add"):
        raise PermissionDenied()
    with transaction.atomic():
        project = object_create(actor=actor, model=Project, data=data, perm="project.add")
        if not actor.is_superuser:
            role = Role.objects.get(code="sysadmin")
            membership = Membership.objects.create(
                user=actor, project=project, role=role, granted_by=actor
            )
            audit_record(
                actor=actor,
                action=AuditAction.GRANT,
                obj=membership,
                project_id=project.pk,
                extra={"user": actor.username, "role": role.code},
            )
            clear_cache(actor)
    return project


def project_update(*, actor, project: Project, data: dict) -> Project:
    return object_update(actor=actor, obj=project, data=data, perm="project.change")


def project_delete(*, actor, project: Project) -> None:
    """Only a project still being prepared and holding no permits can be deleted (one
    created by mistake); a project with history is closed instead."""
    # Permission first: a role that may not delete learns nothing about the project's state.
    require_perm(actor, "project.delete", project)
    if project.status != ProjectStatus.PREPARING or project.permits.exists():
        raise DomainError(
            ErrorCode.IN_USE, "只能删除筹备中且没有预售许可证的项目；其他项目请改为“结案”或停用。"
        )
    members = list(project.memberships.values_list("user__username", "role__code"))
    object_delete(
        actor=actor,
        obj=project,
        perm="project.delete",
        extra={"memberships": [list(m) for m in members]},
    )


def permit_create(*, actor, project: Project, data: dict) -> PresalePermit:
    return object_create(
        actor=actor,
        model=PresalePermit,
        data={**data, "project": project},
        perm="project.change",
        project=project,
    )


def permit_update(*, actor, permit: PresalePermit, data: dict) -> PresalePermit:
    return object_update(actor=actor, obj=permit, data=data, perm="project.change")


def permit_delete(*, actor, permit: PresalePermit) -> None:
    object_delete(actor=actor, obj=permit, perm="project.change")


# --- phases, layouts, buildings -----------------------------------------------------

PHASE_FIELDS = ["name", "sort_order"]
LAYOUT_FIELDS = ["name", "rooms", "halls", "baths", "plan", "note"]
BUILDING_FIELDS = [
    "phase",
    "name",
    "floors_above",
    "floors_below",
    "stairs",
    "units_per_floor",
    "has_elevator",
    "permit",
    "sort_order",
]
UNIT_FIELDS = [
    "building",
    "stair",
    "floor",
    "room",
    "number",
    "layout",
    "use",
    "gross_area",
    "internal_area",
    "shared_area",
    "orientation",
    "view",
    "fit_out",
    "pricing_basis",
    "unit_price",
    "list_price",
    "floor_price",
    "sellable",
    "unsellable_reason",
    "attached_to",
    "note",
]
# Fields a bulk edit may set on many units at once.
BULK_FIELDS = [
    "layout",
    "use",
    "orientation",
    "view",
    "fit_out",
    "pricing_basis",
    "sellable",
    "unsellable_reason",
    "note",
    "internal_area",
    "shared_area",
]


def _same_project(project, **objs):
    for name, obj in objs.items():
        if obj is not None and obj.project_id != project.pk:
            label = type(obj)._meta.verbose_name
            raise DomainError(ErrorCode.INVALID, f"{label}不属于本项目。", {name: ["不属于本项目"]})


def phase_create(*, actor, project, data):
    return object_create(
        actor=actor,
        model=Phase,
        data={**data, "project": project},
        perm="unit.change",
        project=project,
    )


def layout_create(*, actor, project, data):
    return object_create(
        actor=actor,
        model=Layout,
        data={**data, "project": project},
        perm="unit.change",
        project=project,
    )


def layout_update(*, actor, layout, data):
    return object_update(actor=actor, obj=layout, data=data, perm="unit.change")


def building_create(*, actor, project, data):
    _same_project(project, phase=data.get("phase"), permit=data.get("permit"))
    return object_create(
        actor=actor,
        model=Building,
        data={**data, "project": project},
        perm="unit.change",
        project=project,
    )


def building_update(*, actor, building, data):
    _same_project(building.project, phase=data.get("phase"), permit=data.get("permit"))
    return object_update(actor=actor, obj=building, data=data, perm="unit.change")


def unit_number(building, stair: int, floor: int, room: str) -> str:
    """The number as the office writes it: 3栋2单元1502 (one stair: 3栋1502; basement: 3栋B101)."""
    floor_part = f"B{-floor}" if floor < 0 else str(floor)
    stair_part = f"{stair}单元" if building.stairs > 1 else ""
    return f"{building.name}{stair_part}{floor_part}{room}"


def unit_check(unit: Unit) -> None:
    """The rules of a unit's data beyond field types (named per field, in Chinese)."""
    errors = {}
    if unit.gross_area is not None and unit.gross_area <= 0:
        errors["gross_area"] = ["建筑面积必须大于 0"]
    if unit.internal_area is not None:
        if unit.internal_area <= 0:
            errors["internal_area"] = ["套内面积必须大于 0"]
        elif unit.gross_area is not None and unit.internal_area > unit.gross_area:
            errors["internal_area"] = ["套内面积不能大于建筑面积"]
    if unit.pricing_basis == PricingBasis.INTERNAL_AREA and unit.internal_area is None:
        errors["internal_area"] = ["按套内面积计价时必须填写套内面积"]
    for name in PRICE_FIELDS:
        value = getattr(unit, name)
        if value is not None and value < 0:
            errors[name] = ["价格不能为负数"]
    if (
        unit.list_price is not None
        and unit.floor_price is not None
        and unit.list_price < unit.floor_price
    ):
        errors["list_price"] = ["表价低于底价"]
    if not unit.sellable and not unit.unsellable_reason.strip():
        errors["unsellable_reason"] = ["标记为不可售时必须填写原因"]
    if unit.attached_to_id is not None:
        if unit.use not in (UnitUse.PARKING, UnitUse.STORAGE):
            errors["attached_to"] = ["只有车位和储藏室可以附属于房屋"]
        elif unit.attached_to_id == unit.pk or (
            unit.attached_to and unit.attached_to.project_id != unit.project_id
        ):
            errors["attached_to"] = ["附属房屋必须是本项目的其他房间"]
    if errors:
        first = next(iter(errors.values()))[0]
        raise DomainError(ErrorCode.INVALID, first, errors)


def unit_build(*, project, data: dict) -> Unit:
    """A validated, unsaved unit (used by create, generation and the xlsx import): its
    building, layout and the unit it is attached to belong to ``project``."""
    _same_project(
        project,
        building=data.get("building"),
        layout=data.get("layout"),
        attached_to=data.get("attached_to"),
    )
    unit = Unit(project=project, **data)
    if not unit.number and unit.building_id:
        unit.number = unit_number(unit.building, unit.stair, unit.floor, unit.room)
    if "pricing_basis" not in data:
        unit.pricing_basis = project.default_pricing_basis
    unit_check(unit)
    validate(unit, exclude=["project", "building", "layout", "attached_to"])
    return unit


def unit_create(*, actor, project, data: dict) -> Unit:
    require_perm(actor, "unit.change", project)
    unit = unit_build(project=project, data=data)
    with transaction.atomic():
        try:
            with transaction.atomic():
                unit.save(force_insert=True)
        except IntegrityError as exc:
            raise DomainError(
                ErrorCode.CONFLICT, f"房间 {unit.number} 已存在。", {"number": ["房间已存在"]}
            ) from exc
        audit_create(actor=actor, obj=unit)
        price_record(actor=actor, unit=unit, before=dict.fromkeys(PRICE_FIELDS))
    return unit


def unit_update(*, actor, unit: Unit, data: dict) -> Unit:
    """Edit a unit's data. Status is not a field here (it moves through its own
    services); a live deal keeps the price and area it copied when it was made."""
    require_perm(actor, "unit.change", unit.project_id)
    _same_project(
        unit.project,
        building=data.get("building"),
        layout=data.get("layout"),
        attached_to=data.get("attached_to"),
    )
    with transaction.atomic():
        unit = lock(unit)
        before = snapshot(unit)
        prices = {f: getattr(unit, f) for f in PRICE_FIELDS}
        for name, value in data.items():
            if name not in UNIT_FIELDS:
                raise DomainError(
                    ErrorCode.INVALID, f"字段 {name} 不能在此修改。", {name: ["不能在此修改"]}
                )
            setattr(unit, name, coerce(unit, name, value))
        unit_check(unit)
        validate(unit)
        if snapshot(unit) == before:
            return unit  # nothing changed: no new version, no history, no audit entry
        unit.version += 1
        try:
            with transaction.atomic():
                unit.save()
        except IntegrityError as exc:
            raise DomainError(
                ErrorCode.CONFLICT, f"房间 {unit.number} 已存在。", {"number": ["房间已存在"]}
            ) from exc
        price_record(actor=actor, unit=unit, before=prices)
        audit_update(actor=actor, obj=unit, before=before)
    return unit


def units_bulk_update(*, actor, project, unit_ids: list[int], data: dict) -> int:
    """Set the same fields on many units at once (one transaction: all or none)."""
    require_perm(actor, "unit.change", project)
    bad = [k for k in data if k not in BULK_FIELDS]
    if bad:
        raise DomainError(
            ErrorCode.INVALID,
            f"批量修改不支持字段：{', '.join(bad)}",
            {k: ["不支持批量修改"] for k in bad},
        )
    if not unit_ids:
        raise DomainError(ErrorCode.INVALID, "请先选择房间。", {"units": ["请先选择房间"]})
    _same_project(project, layout=data.get("layout"))
    with transaction.atomic():
        units = list(
            Unit.objects.select_for_update().filter(project=project, pk__in=unit_ids).order_by("pk")
        )
        if len(units) != len(set(unit_ids)):
            raise DomainError(
                ErrorCode.NOT_FOUND, "部分房间不存在或不属于本项目。", {"units": ["部分房间不存在"]}
            )
        for unit in units:
            before = snapshot(unit)
            for name, value in data.items():
                setattr(unit, name, coerce(unit, name, value))
            try:
                unit_check(unit)
            except DomainError as exc:
                raise DomainError(
                    ErrorCode.INVALID, f"{unit.number}：{exc.message}", exc.fields
                ) from exc
            unit.version += 1
            unit.save()
            audit_update(actor=actor, obj=unit, before=before, extra={"bulk": True})
    return len(units)


def units_bulk_insert(*, actor, project, units: list[Unit], batch_size: int = 500) -> list[Unit]:
    """Insert validated new units at once and start the price history of the priced
    ones (generation and the xlsx import); returns them with their ids. Runs inside the
    caller's transaction."""
    created = Unit.objects.bulk_create(units, batch_size=batch_size)
    if not connection.features.can_return_rows_from_bulk_insert:
        ids = dict(
            Unit.objects.filter(
                project=project, number__in=[u.number for u in created]
            ).values_list("number", "pk")
        )
        for unit in created:
            unit.pk = ids[unit.number]
    price_record_new(actor=actor, units=created, batch_size=batch_size)
    return created


def building_generate_units(
    *,
    actor,
    building: Building,
    positions: list[dict],
    floors=None,
    stairs=None,
    status=UnitStatus.NOT_RELEASED,
) -> list[Unit]:
    """Create a building's units from its shape: every stair × floor × position.

    ``positions`` describes room 1..units_per_floor of a typical floor: for each, the
    layout, gross and internal area, orientation, view and use. Floors default to
    1..floors_above (basement floors are for parking: pass them explicitly). Room numbers
    are two digits (1502 = floor 15, room 02). Existing positions are refused, listed.
    """
    project = building.project
    require_perm(actor, "unit.change", project)
    if not positions:
        raise DomainError(
            ErrorCode.INVALID, "请至少设置一个户位。", {"positions": ["请至少设置一个户位"]}
        )
    floors = list(floors if floors is not None else range(1, building.floors_above + 1))
    stairs = list(stairs if stairs is not None else range(1, building.stairs + 1))
    if any(f == 0 for f in floors):
        raise DomainError(ErrorCode.INVALID, "楼层不能为 0。", {"floors": ["楼层不能为 0"]})
    units = []
    for stair in stairs:
        for floor in floors:
            for index, spec in enumerate(positions, start=1):
                room = (
                    f"{spec.get('room_no', index):02d}"
                    if isinstance(spec.get("room_no", index), int)
                    else str(spec["room_no"])
                )
                data = {
                    k: v
                    for k, v in spec.items()
                    if k in UNIT_FIELDS and k not in ("building", "number", "room")
                }
                data.update(building=building, stair=stair, floor=floor, room=room)
                try:
                    units.append(unit_build(project=project, data=data))
                except DomainError as exc:
                    raise DomainError(
                        ErrorCode.INVALID,
                        f"第 {index} 户位：{exc.message}",
                        {f"positions[{index}].{k}": v for k, v in exc.fields.items()},
                    ) from exc
    numbers = [u.number for u in units]
    existing = set(
        Unit.objects.filter(project=project, number__in=numbers).values_list("number", flat=True)
    )
    if existing:
        shown = "、".join(sorted(existing)[:10])
        raise DomainError(
            ErrorCode.CONFLICT,
            f"以下房间已存在：{shown}{' 等' if len(existing) > 10 else ''}",
            {"positions": [f"{len(existing)} 个房间已存在"]},
        )
    with transaction.atomic():
        for unit in units:
            unit.status = status
        saved = units_bulk_insert(actor=actor, project=project, units=units)
        audit_record(
            actor=actor,
            action=AuditAction.ACTION,
            obj=building,
            extra={
                "generated_units": len(saved),
                "floors": [min(floors), max(floors)],
                "stairs": stairs,
                "positions": len(positions),
            },
        )
    return saved


# --- status: release, hold, unhold (销控) ---------------------------------------------


def _move(
    *,
    actor,
    unit_ids,
    to_status: str,
    expected: tuple,
    reason: str = "",
    extra_updates=None,
    project=None,
) -> list[Unit]:
    """Move units to ``to_status`` with a conditional UPDATE … WHERE status IN expected.

    Every unit must be in an expected status, else the whole move is refused as a
    conflict: two people holding one unit at the same moment cannot both win.
    """
    now = timezone.now()
    with transaction.atomic():
        units = list(Unit.objects.select_for_update().filter(pk__in=unit_ids).order_by("pk"))
        if len(units) != len(set(unit_ids)):
            raise DomainError(
                ErrorCode.NOT_FOUND, "部分房间不存在。", {"units": ["部分房间不存在"]}
            )
        for unit in units:
            if project is not None and unit.project_id != project.pk:
                raise DomainError(
                    ErrorCode.NOT_FOUND, "部分房间不属于本项目。", {"units": ["不属于本项目"]}
                )
            if unit.status not in expected or not unit.can_move_to(to_status):
                raise DomainError(
                    ErrorCode.CONFLICT,
                    f"房间 {unit.number} 当前为「{unit.get_status_display()}」，不能改为「{UnitStatus(to_status).label}」。",
                    {"units": [f"{unit.number}：{unit.get_status_display()}"]},
                )
            # Only a unit open for sale may be held or reserved; its status passed above,
            # so what refuses it here is 不可售.
            if to_status in (UnitStatus.HELD, UnitStatus.RESERVED) and not unit.is_open_for_sale:
                raise DomainError(
                    ErrorCode.CONFLICT,
                    f"房间 {unit.number} 已标记为不可售：{unit.unsellable_reason}",
                    {"units": [f"{unit.number}：不可售"]},
                )
        updates = {
            "status": to_status,
            "version": F("version") + 1,
            "updated_at": now,
            **(extra_updates or {}),
        }
        changed = Unit.objects.filter(pk__in=[u.pk for u in units], status__in=expected).update(
            **updates
        )
        if changed != len(units):
            raise DomainError(ErrorCode.CONFLICT)
        actor_obj = actor if getattr(actor, "pk", None) else None
        UnitStatusChange.objects.bulk_create(
            UnitStatusChange(
                unit=u, from_status=u.status, to_status=to_status, actor=actor_obj, reason=reason
            )
            for u in units
        )
        for unit in units:
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=unit,
                changes={
                    "status": [unit.status, to_status],
                    **{k: [None, v] for k, v in (extra_updates or {}).items() if k != "held_by"},
                },
                extra={"reason": reason} if reason else None,
            )
    return list(Unit.objects.filter(pk__in=[u.pk for u in units]).order_by("pk"))


def units_deal_move(
    *, actor, project, unit_ids, to_status: str, expected: tuple, reason: str, until=None
) -> list[Unit]:
    """A deal moves its units (reserve, subscribe, contract, end): the deal service has
    checked its own permission; the move is the same conditional UPDATE as any other.
    ``until``: when a reservation runs out (``hold_until``; none for the other moves),
    so that pages read the unit as available from then on without a write."""
    return _move(
        actor=actor,
        unit_ids=unit_ids,
        to_status=to_status,
        expected=expected,
        reason=reason,
        project=project,
        extra_updates={"hold_until": until},
    )


def units_deal_lapse(*, project, unit_ids, until) -> None:
    """A reserved unit's reservation now runs out at ``until`` (none: it waits for an
    approval or the deposit and does not run out)."""
    Unit.objects.filter(project=project, pk__in=unit_ids, status=UnitStatus.RESERVED).update(
        hold_until=until
    )


def units_release(*, actor, project, unit_ids, reason="") -> list[Unit]:
    """推盘: not released → available (the sales admin or manager; never a consultant)."""
    require_perm(actor, "unit.release", project)
    return _move(
        actor=actor,
        unit_ids=unit_ids,
        to_status=UnitStatus.AVAILABLE,
        expected=(UnitStatus.NOT_RELEASED,),
        reason=reason or "推盘",
        project=project,
    )


def units_withdraw(*, actor, project, unit_ids, reason) -> list[Unit]:
    """Take available units back off the market (available → not released)."""
    require_perm(actor, "unit.release", project)
    _require_reason(reason)
    return _move(
        actor=actor,
        unit_ids=unit_ids,
        to_status=UnitStatus.NOT_RELEASED,
        expected=(UnitStatus.AVAILABLE,),
        reason=reason,
        project=project,
    )


def _require_reason(reason):
    if not (reason or "").strip():
        raise DomainError(ErrorCode.INVALID, "请填写原因。", {"reason": ["请填写原因"]})


def units_hold(*, actor, project, unit_ids, reason: str, until=None) -> list[Unit]:
    """销控保留: the office holds available units back from sale, with a reason and an
    optional expiry (seed 002 二.1(2))."""
    require_perm(actor, "unit.hold", project)
    _require_reason(reason)
    if until is not None and until <= timezone.now():
        raise DomainError(
            ErrorCode.INVALID, "保留截止时间必须晚于现在。", {"until": ["必须晚于现在"]}
        )
    return _move(
        actor=actor,
        unit_ids=unit_ids,
        to_status=UnitStatus.HELD,
        expected=(UnitStatus.AVAILABLE,),
        reason=reason,
        project=project,
        extra_updates={
            "hold_reason": reason.strip(),
            "hold_until": until,
            "held_by": actor if getattr(actor, "pk", None) else None,
        },
    )


def units_unhold(*, actor, project, unit_ids, reason: str = "") -> list[Unit]:
    """Release held units back to available."""
    if actor is not None:
        require_perm(actor, "unit.hold", project)
    return _move(
        actor=actor,
        unit_ids=unit_ids,
        to_status=UnitStatus.AVAILABLE,
        expected=(UnitStatus.HELD,),
        reason=reason or "释放",
        project=project,
        extra_updates={"hold_reason": "", "hold_until": None, "held_by": None},
    )


def release_plan_create(*, actor, project, name: str, release_at, unit_ids) -> ReleasePlan:
    """A rolling release: these held units become available at ``release_at``."""
    require_perm(actor, "unit.hold", project)
    if release_at <= timezone.now():
        raise DomainError(
            ErrorCode.INVALID, "释放时间必须晚于现在。", {"release_at": ["必须晚于现在"]}
        )
    units = list(Unit.objects.filter(project=project, pk__in=unit_ids))
    if not units or len(units) != len(set(unit_ids)):
        raise DomainError(
            ErrorCode.INVALID, "请选择本项目的保留房间。", {"units": ["请选择本项目的保留房间"]}
        )
    not_held = [u.number for u in units if u.status != UnitStatus.HELD]
    if not_held:
        raise DomainError(
            ErrorCode.INVALID,
            f"只能为保留中的房间制定释放计划：{'、'.join(not_held[:10])}",
            {"units": ["包含未保留的房间"]},
        )
    with transaction.atomic():
        plan = ReleasePlan.objects.create(
            project=project, name=name or "滚动释放", release_at=release_at, created_by=actor
        )
        plan.units.set(units)
        audit_create(actor=actor, obj=plan, extra={"units": [u.number for u in units]})
    return plan


def holds_expire(*, now=None, unit_ids=None) -> int:
    """Holds past their time return their units to available: every one from
    ``loupan run-due``, or the ``unit_ids`` an action finds run out (it ends them before
    acting). Returns how many units."""
    now = now or timezone.now()
    due = Unit.objects.filter(status=UnitStatus.HELD, hold_until__lte=now)
    if unit_ids is not None:
        due = due.filter(pk__in=unit_ids)
    count = 0
    for project_id, ids in _group(due.values_list("project_id", "pk")):
        units_unhold(
            actor=None, project=Project(pk=project_id), unit_ids=ids, reason="保留到期自动释放"
        )
        count += len(ids)
    return count


def process_due(*, now=None) -> dict:
    """The units' part of inventory's due work: expired holds and release plans
    (``jobs.process_due`` runs it, then the scheduled price lists).

    Each item runs in its own transaction; one that cannot run (a unit already sold) is
    recorded and skipped, never half-done.
    """
    now = now or timezone.now()
    done = {"holds_expired": holds_expire(now=now), "plans": 0}
    for plan in ReleasePlan.objects.filter(
        executed_at__isnull=True, release_at__lte=now
    ).select_related("project"):
        with transaction.atomic():
            plan = ReleasePlan.objects.select_for_update().get(pk=plan.pk)
            if plan.executed_at is not None:
                continue
            held = list(plan.units.filter(status=UnitStatus.HELD).values_list("pk", flat=True))
            skipped = list(
                plan.units.exclude(status=UnitStatus.HELD).values_list("number", flat=True)
            )
            if held:
                units_unhold(
                    actor=None, project=plan.project, unit_ids=held, reason=f"释放计划：{plan.name}"
                )
            plan.executed_at = now
            plan.result = {"released": len(held), "skipped": skipped}
            plan.save(update_fields=["executed_at", "result"])
            audit_record(
                actor=None,
                action=AuditAction.ACTION,
                obj=plan,
                username="system",
                extra=plan.result,
            )
        done["plans"] += 1
    return done


def _group(pairs):
    groups = {}
    for key, value in pairs:
        groups.setdefault(key, []).append(value)
    return groups.items()
