"""Price lists and adjustments (价格方案、调价): see price_rules.py for the arithmetic.

Issue Inventory, "Price lists": planning (``pricelist.change``) drafts a versioned list
for some or all units of a project, or an adjustment of selected units; the sales
manager (``pricelist.approve``) approves a list whose largest price change is within
``settings.LOUPAN_PRICE_MANAGER_MAX_CHANGE_PCT``, the director (``pricelist.approve_any``)
any list; nobody approves their own. Applying writes every unit and its price history in
one transaction, at once or when ``scheduled_at`` comes (``pricelist_apply_due``). Units
already promised to a buyer (``LOCKED_PRICE_STATUSES``) keep their price and are listed as
skipped. Each function is one business action: permission, rule checks, row locks
(ordered by pk), the write and its audit entry in one transaction.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from loupan.accounts.access import has_perm, require_perm
from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalRequest, ApprovalStatus
from loupan.audit.models import AuditAction
from loupan.audit.services import audit_record
from loupan.core.errors import DomainError, ErrorCode, conflict
from loupan.core.masking import without_floor_price
from loupan.core.money import money
from loupan.core.snapshot import diff, snapshot

from . import price_rules
from .models import (
    LOCKED_PRICE_STATUSES,
    PRICE_LIST_TRANSITIONS,
    Building,
    Layout,
    PriceList,
    PriceListItem,
    PriceListKind,
    PriceListStatus,
    PricingBasis,
    Project,
    Unit,
    UnitStatus,
)
from .price_history import price_record

APPROVER_MANAGER = "manager"
APPROVER_DIRECTOR = "director"
# The price-list kind of the approval engine: its two levels are the two approval
# permissions, the manager's (within the threshold) and the director's (any list).
APPROVAL_KIND = "pricelist"
LEVELS = {APPROVER_MANAGER: "pricelist.approve", APPROVER_DIRECTOR: "pricelist.approve_any"}
APPLY_PERMS = ("pricelist.change", "pricelist.approve", "pricelist.approve_any")


# --- small helpers ---------------------------------------------------------------------


def manager_max_change_pct() -> Decimal:
    return Decimal(str(getattr(settings, "LOUPAN_PRICE_MANAGER_MAX_CHANGE_PCT", 5)))


def _pl_snapshot(pl: PriceList) -> dict:
    """The list as the audit trail records it: without the rule's floor-price discount,
    since roles without ``unit.view_floor_price`` read the trail."""
    data = snapshot(pl)
    data["parameters"] = without_floor_price(pl.parameters or {})
    return data


def _audit(actor, pl: PriceList, action=AuditAction.UPDATE, before=None, extra=None):
    changes = diff(before, _pl_snapshot(pl)) if action != AuditAction.ACTION else None
    return audit_record(
        actor=actor,
        action=action,
        obj=pl,
        changes=changes,
        extra=extra,
        username="" if getattr(actor, "pk", None) else "system",
    )


def _move(pl: PriceList, to_status: str) -> None:
    """Check a status move against ``PRICE_LIST_TRANSITIONS``."""
    if to_status not in PRICE_LIST_TRANSITIONS[pl.status]:
        raise conflict(
            f"价格方案当前为「{pl.get_status_display()}」，不能改为「{PriceListStatus(to_status).label}」。"
        )


def _lock(pl: PriceList) -> PriceList:
    return PriceList.objects.select_for_update(of=("self",)).select_related("project").get(pk=pl.pk)


def _require_draft(pl: PriceList) -> None:
    if pl.status != PriceListStatus.DRAFT:
        raise conflict(f"只有草稿可以修改，该方案当前为「{pl.get_status_display()}」。")


def facts_of(unit: Unit) -> price_rules.UnitFacts:
    return price_rules.UnitFacts(
        key=unit.pk,
        label=unit.number,
        building=unit.building_id,
        layout=unit.layout_id,
        floor=unit.floor,
        gross_area=unit.gross_area,
        internal_area=unit.internal_area,
        orientation=unit.orientation or "",
        view=unit.view or "",
        top_floor=unit.building.floors_above if unit.building_id else None,
    )


def _basis_for(pl: PriceList, unit: Unit) -> str:
    """A price list prices every unit on its own basis; an adjustment keeps each unit's."""
    return unit.pricing_basis if pl.kind == PriceListKind.ADJUSTMENT else pl.pricing_basis


def _area(pl: PriceList, unit: Unit):
    return price_rules.pricing_area(facts_of(unit), _basis_for(pl, unit))


def _rounding(pl: PriceList) -> tuple[Decimal, str]:
    source = (pl.parameters.get("rule") or pl.parameters.get("adjustment") or {}).get(
        "rounding"
    ) or {}
    return Decimal(str(source.get("step") or "1")), str(source.get("on") or "total")


def _rule(pl: PriceList) -> price_rules.Rule | None:
    return price_rules.Rule.from_json(pl.parameters["rule"]) if pl.parameters.get("rule") else None


def _floor_for(pl: PriceList, unit: Unit, total: Decimal) -> Decimal | None:
    """The floor price that goes with a new total: from the rule's discount for a price
    list (None = keep the unit's), in proportion to the old price for an adjustment."""
    step, _on = _rounding(pl)
    if pl.kind == PriceListKind.ADJUSTMENT:
        return price_rules.adjust_floor_price(
            unit.floor_price, old_total=unit.list_price, new_total=total, step=step
        )
    rule = _rule(pl)
    return price_rules.floor_price_for(total, rule.floor_discount_pct if rule else None, step)


def _next_version(project: Project) -> int:
    """The next version number of the project's price lists: the project row is locked
    first, so two planners generating at once get consecutive numbers."""
    Project.objects.select_for_update().filter(pk=project.pk).values_list("pk", flat=True).get()
    last = PriceList.objects.filter(project=project).aggregate(v=Max("version"))["v"]
    return (last or 0) + 1


def _create_list(*, actor, project, name, kind, basis, parameters, note, items) -> PriceList:
    with transaction.atomic():
        try:
            with transaction.atomic():
                pl = PriceList.objects.create(
                    project=project,
                    version=_next_version(project),
                    name=name,
                    kind=kind,
                    pricing_basis=basis,
                    parameters=parameters,
                    note=note or "",
                    created_by=actor if getattr(actor, "pk", None) else None,
                )
        except IntegrityError as exc:  # a version taken in between: the caller retries
            raise conflict("版本号已被占用，请重试。", "version") from exc
        for item in items:
            item.price_list = pl
        PriceListItem.objects.bulk_create(items, batch_size=500)
        _audit(
            actor,
            pl,
            action=AuditAction.CREATE,
            before=None,
            extra={"items": len(items), "kind": kind},
        )
    return pl


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise price_rules.invalid("请填写方案名称", "name")
    if len(name) > 100:
        raise price_rules.invalid("名称不能超过 100 个字", "name")
    return name


# --- selection of units -----------------------------------------------------------------


def units_matching(
    *,
    project,
    unit_ids=None,
    building_ids=None,
    layout_ids=None,
    floor_from=None,
    floor_to=None,
    statuses=None,
):
    """The project's units picked by ids and/or a filter (building, layout, floors,
    statuses); used by generation and adjustments, from the UI and the API alike."""
    qs = Unit.objects.filter(project=project).select_related("building", "layout")
    if unit_ids:
        qs = qs.filter(pk__in=list(unit_ids))
    if building_ids:
        qs = qs.filter(building_id__in=list(building_ids))
    if layout_ids:
        qs = qs.filter(layout_id__in=list(layout_ids))
    if floor_from not in (None, ""):
        qs = qs.filter(floor__gte=int(floor_from))
    if floor_to not in (None, ""):
        qs = qs.filter(floor__lte=int(floor_to))
    if statuses:
        qs = qs.filter(status__in=list(statuses))
    return qs.order_by("pk")


def _check_ids(project, unit_ids, found) -> None:
    if unit_ids and len({int(i) for i in unit_ids}) != len(found):
        raise DomainError(
            ErrorCode.NOT_FOUND, "部分房间不存在或不属于本项目。", {"units": ["部分房间不存在"]}
        )


# --- drafting ---------------------------------------------------------------------------


def pricelist_generate(
    *,
    actor,
    project: Project,
    name: str,
    rule: dict,
    pricing_basis: str | None = None,
    unit_ids=None,
    building_ids=None,
    target_average=None,
    note: str = "",
) -> PriceList:
    """Draft a price list from a generation rule for some or all units of the project
    (issue Inventory: base price per building or layout, 楼层差, orientation and view
    premiums, rounding; optionally scaled to a target average 均价)."""
    require_perm(actor, "pricelist.change", project)
    name = _clean_name(name)
    basis = pricing_basis or project.default_pricing_basis
    if basis not in PricingBasis.values:
        raise price_rules.invalid("计价方式无效", "pricing_basis")
    parsed = price_rules.Rule.from_json(rule)
    buildings = set(Building.objects.filter(project=project).values_list("pk", flat=True))
    layouts = set(Layout.objects.filter(project=project).values_list("pk", flat=True))
    if set(parsed.building_prices) - buildings:
        raise price_rules.invalid("基准价中的楼栋不属于本项目", "building_prices")
    if set(parsed.layout_prices) - layouts:
        raise price_rules.invalid("基准价中的户型不属于本项目", "layout_prices")
    units = list(units_matching(project=project, unit_ids=unit_ids, building_ids=building_ids))
    _check_ids(project, unit_ids, units)
    if not units:
        raise price_rules.invalid("没有可定价的房间", "units")
    facts = {u.pk: facts_of(u) for u in units}
    prices = price_rules.generate(parsed, list(facts.values()), basis)
    parameters = {"rule": parsed.to_json(), "overrides": {}}
    if target_average not in (None, ""):
        lines = [
            price_rules.Line(
                u.pk,
                price_rules.pricing_area(facts[u.pk], basis),
                prices[u.pk].unit_price,
                prices[u.pk].total,
            )
            for u in units
        ]
        scaled = price_rules.scale_to_average(
            lines, target_average, step=parsed.rounding_step, on=parsed.rounding_on
        )
        for key, (unit_price, total) in scaled.items():
            prices[key] = price_rules.Price(
                unit_price,
                total,
                price_rules.floor_price_for(total, parsed.floor_discount_pct, parsed.rounding_step),
            )
        reached = price_rules.average(
            price_rules.Line(ln.key, ln.area, prices[ln.key].unit_price, prices[ln.key].total)
            for ln in lines
        )
        parameters["scale"] = [
            {"target": str(money(target_average)), "units": len(lines), "reached": str(reached)}
        ]
    items = [
        PriceListItem(
            unit=u,
            unit_price=prices[u.pk].unit_price,
            list_price=prices[u.pk].total,
            floor_price=prices[u.pk].floor_price,
            old_list_price=u.list_price,
        )
        for u in units
    ]
    return _create_list(
        actor=actor,
        project=project,
        name=name,
        kind=PriceListKind.PRICE_LIST,
        basis=basis,
        parameters=parameters,
        note=note,
        items=items,
    )


def adjustment_create(
    *,
    actor,
    project: Project,
    name: str,
    unit_ids,
    mode: str,
    value,
    rounding_step="1",
    rounding_on: str = "total",
    note: str = "",
) -> PriceList:
    """调价: raise or lower selected units by a percent or an amount (yuan/㎡; yuan per
    unit for per-unit pricing). Units already reserved or sold, or never priced, are
    listed as skipped; the adjustment then follows the price list's approval path."""
    require_perm(actor, "pricelist.change", project)
    name = _clean_name(name)
    if not unit_ids:
        raise price_rules.invalid("请先选择房间", "units")
    amount = price_rules.dec(value, "value")
    if amount == 0:
        raise price_rules.invalid("调价幅度不能为 0", "value")
    step = price_rules.dec(rounding_step or "1", "rounding_step")
    if step not in price_rules.ROUND_STEPS:
        raise price_rules.invalid("取整单位只能是 1、10 或 100 元", "rounding_step")
    if rounding_on not in price_rules.ROUND_ON:
        raise price_rules.invalid("取整对象只能是总价或单价", "rounding_on")
    if mode not in price_rules.ADJUST_MODES:
        raise price_rules.invalid("调价方式只能是按比例或按金额", "mode")
    units = list(units_matching(project=project, unit_ids=unit_ids))
    _check_ids(project, unit_ids, units)
    parameters = {
        "adjustment": {
            "mode": mode,
            "value": price_rules.plain(amount),
            "rounding": {"step": price_rules.plain(step), "on": rounding_on},
        },
        "overrides": {},
    }
    draft = PriceList(project=project, kind=PriceListKind.ADJUSTMENT, parameters=parameters)
    items, bad = [], []
    for unit in units:
        item = PriceListItem(unit=unit, old_list_price=unit.list_price)
        if unit.status in LOCKED_PRICE_STATUSES:
            _skip(item, unit, f"已{unit.get_status_display()}")
        elif unit.list_price is None:
            _skip(item, unit, "尚未定价")
        else:
            area = _area(draft, unit)
            unit_price, total = price_rules.adjust_price(
                unit_price=unit.unit_price,
                total=unit.list_price,
                area=area,
                mode=mode,
                value=amount,
                step=step,
                on=rounding_on,
            )
            if total <= 0:
                bad.append(unit.number)
            item.unit_price, item.list_price = unit_price, total
            item.floor_price = _floor_for(draft, unit, total)
        items.append(item)
    if bad:
        raise price_rules.invalid(f"下调后价格不为正数：{price_rules._first(bad)}", "value")
    if all(item.skipped for item in items):
        raise price_rules.invalid("所选房间均已预留、成交或尚未定价，没有可调价的房间", "units")
    return _create_list(
        actor=actor,
        project=project,
        name=name,
        kind=PriceListKind.ADJUSTMENT,
        basis=project.default_pricing_basis,
        parameters=parameters,
        note=note,
        items=items,
    )


def _skip(item: PriceListItem, unit: Unit, reason: str) -> None:
    item.skipped = True
    item.skip_reason = reason[:100]
    item.unit_price = unit.unit_price
    item.list_price = unit.list_price if unit.list_price is not None else Decimal("0.00")
    item.floor_price = None


def pricelist_set_override(
    *, actor, price_list: PriceList, unit_id: int, unit_price=None, total=None, clear=False
) -> PriceListItem:
    """A manual price 手工调整 for one unit of a draft, by unit price or by total, taken
    exactly as typed; scaling to an average never changes it. ``clear`` goes back to the
    rule's price."""
    require_perm(actor, "pricelist.change", price_list.project_id)
    with transaction.atomic():
        pl = _lock(price_list)
        _require_draft(pl)
        item = (
            pl.items.select_related("unit__building", "unit__layout")
            .select_for_update(of=("self",))
            .filter(unit_id=unit_id)
            .first()
        )
        if item is None:
            raise DomainError(
                ErrorCode.NOT_FOUND, "该房间不在此方案中。", {"unit": ["不在此方案中"]}
            )
        if item.skipped:
            raise conflict(f"房间 {item.unit.number} 已跳过：{item.skip_reason}", "unit")
        unit = item.unit
        before = _pl_snapshot(pl)
        area = _area(pl, unit)
        overrides = dict(pl.parameters.get("overrides") or {})
        if clear:
            overrides.pop(str(unit.pk), None)
            new_unit_price, new_total = _computed(pl, unit, area)
            item.manual = False
        else:
            new_unit_price, new_total = price_rules.override_price(
                area=area, unit_price=unit_price, total=total
            )
            overrides[str(unit.pk)] = (
                {"total": str(new_total)}
                if total not in (None, "")
                else {"unit_price": str(money(price_rules.dec(unit_price, "unit_price")))}
            )
            item.manual = True
        item.unit_price, item.list_price = new_unit_price, new_total
        item.floor_price = _floor_for(pl, unit, new_total)
        item.save(update_fields=["unit_price", "list_price", "floor_price", "manual"])
        pl.parameters = {**pl.parameters, "overrides": overrides}
        pl.save(update_fields=["parameters"])
        _audit(
            actor,
            pl,
            before=before,
            extra={"unit": unit.number, "override": not clear, "list_price": str(new_total)},
        )
    return item


def _computed(pl: PriceList, unit: Unit, area):
    """The price the rule (or the adjustment) gives a unit without a manual override."""
    if pl.kind == PriceListKind.ADJUSTMENT:
        adj = pl.parameters["adjustment"]
        step, on = _rounding(pl)
        return price_rules.adjust_price(
            unit_price=unit.unit_price,
            total=unit.list_price,
            area=area,
            mode=adj["mode"],
            value=adj["value"],
            step=step,
            on=on,
        )
    price = price_rules.generate(_rule(pl), [facts_of(unit)], pl.pricing_basis)[unit.pk]
    return price.unit_price, price.total


def pricelist_scale_to_average(*, actor, price_list: PriceList, target, unit_ids=None) -> dict:
    """Scale a draft so that the average price 均价 of a set of its units (all by default)
    is within 1 yuan of ``target`` after rounding; manual prices stay as they are."""
    require_perm(actor, "pricelist.change", price_list.project_id)
    with transaction.atomic():
        pl = _lock(price_list)
        _require_draft(pl)
        qs = pl.items.filter(skipped=False).select_related("unit__building", "unit__layout")
        if unit_ids:
            qs = qs.filter(unit_id__in=list(unit_ids))
        items = list(qs.select_for_update(of=("self",)).order_by("pk"))
        if unit_ids and len(items) != len({int(i) for i in unit_ids}):
            raise DomainError(
                ErrorCode.NOT_FOUND, "部分房间不在此方案中。", {"units": ["不在此方案中"]}
            )
        if not items:
            raise price_rules.invalid("没有可调整的房间", "target_average")
        step, on = _rounding(pl)
        lines = [
            price_rules.Line(
                i.unit_id, _area(pl, i.unit), i.unit_price, i.list_price, fixed=i.manual
            )
            for i in items
        ]
        scaled = price_rules.scale_to_average(lines, target, step=step, on=on)
        before = _pl_snapshot(pl)
        changed = []
        for item in items:
            if item.unit_id in scaled:
                item.unit_price, item.list_price = scaled[item.unit_id]
                item.floor_price = _floor_for(pl, item.unit, item.list_price)
                changed.append(item)
        PriceListItem.objects.bulk_update(
            changed, ["unit_price", "list_price", "floor_price"], batch_size=500
        )
        reached = price_rules.average(
            price_rules.Line(i.unit_id, _area(pl, i.unit), i.unit_price, i.list_price)
            for i in items
        )
        record = {
            "target": str(money(target)),
            "units": len(items),
            "reached": str(reached),
            "at": timezone.now().isoformat(),
        }
        pl.parameters = {**pl.parameters, "scale": [*(pl.parameters.get("scale") or []), record]}
        pl.save(update_fields=["parameters"])
        _audit(actor, pl, before=before, extra={"scale": record})
    return {"reached": reached, "units": len(items), "scaled": len(changed)}


# --- approval ---------------------------------------------------------------------------


def _stale_units(pl: PriceList, items, units: dict) -> list[str]:
    return [
        units[i.unit_id].number
        for i in items
        if not i.skipped and units[i.unit_id].list_price != i.old_list_price
    ]


def pricelist_submit(*, actor, price_list: PriceList) -> PriceList:
    """Draft → submitted. Computes the largest price change 最大调幅 and so who must
    approve: the manager within the setting's threshold, the director beyond it or when
    a unit gets its first price (the opening price is the director's decision)."""
    require_perm(actor, "pricelist.change", price_list.project_id)
    with transaction.atomic():
        pl = _lock(price_list)
        _move(pl, PriceListStatus.SUBMITTED)
        items = list(pl.items.select_related("unit"))
        live = [i for i in items if not i.skipped]
        if not live:
            raise price_rules.invalid("方案中没有需要调价的房间", "units")
        units = {i.unit_id: i.unit for i in items}
        stale = _stale_units(pl, items, units)
        if stale:
            raise conflict(
                f"以下房间的价格在方案制定后已被修改，请重新生成方案：{price_rules._first(stale)}",
                "units",
            )
        below = [
            units[i.unit_id].number
            for i in live
            if (
                floor := i.floor_price
                if i.floor_price is not None
                else units[i.unit_id].floor_price
            )
            is not None
            and i.list_price < floor
        ]
        if below:
            raise price_rules.invalid(
                f"以下房间的表价低于底价：{price_rules._first(below)}", "units"
            )
        changes = [price_rules.change_pct(i.old_list_price, i.list_price) for i in live]
        known = [c for c in changes if c is not None]
        before = _pl_snapshot(pl)
        pl.max_change_pct = max(known) if known else None
        first_pricing = len(known) != len(changes)
        within = not first_pricing and (pl.max_change_pct or 0) <= manager_max_change_pct()
        pl.required_approver = APPROVER_MANAGER if within else APPROVER_DIRECTOR
        pl.status = PriceListStatus.SUBMITTED
        pl.submitted_at = timezone.now()
        pl.save(update_fields=["status", "submitted_at", "max_change_pct", "required_approver"])
        _audit(actor, pl, before=before, extra={"first_pricing": first_pricing})
        level = LEVELS[pl.required_approver]
        approvals.approval_request(
            actor=actor,
            requested_by=pl.created_by or actor,
            project=pl.project,
            subject=pl,
            kind=APPROVAL_KIND,
            payload={
                "version": pl.version,
                "name": pl.name,
                "max_change_pct": None if pl.max_change_pct is None else str(pl.max_change_pct),
                "first_pricing": first_pricing,
            },
            reason=f"价格方案 V{pl.version} {pl.name} 提交审批",
            level=level,
            final=level,
            busy=("该价格方案已在审批中。", "status"),
        )
    return pl


def why_director(request: ApprovalRequest) -> str:
    """Why a list waits for the director (the engine's ``explain`` for a manager)."""
    pct, limit = request.payload.get("max_change_pct"), manager_max_change_pct()
    reason = (
        f"最大调幅 {pct}% 超过销售经理审批限额 {limit}%"
        if pct is not None and Decimal(pct) > limit
        else "方案包含首次定价的房间"
    )
    return f"{reason}，需销售总监审批。"


def pending_request(pl: PriceList) -> ApprovalRequest | None:
    """The list's approval request still waiting, if it is submitted."""
    return approvals.requests_of(pl).filter(status=ApprovalStatus.PENDING).first()


def _decide(*, actor, price_list: PriceList, approve: bool, note: str) -> PriceList:
    with transaction.atomic():
        pl = _lock(price_list)
        _move(pl, PriceListStatus.APPROVED if approve else PriceListStatus.REJECTED)
        approvals.approval_decide(
            actor=actor, request=pending_request(pl), approve=approve, reason=note
        )
    return PriceList.objects.get(pk=pl.pk)


def pricelist_approve(*, actor, price_list: PriceList, note: str = "") -> PriceList:
    """Submitted → approved, through the approval engine: by an approver other than the
    drafter, within their limit (the manager within the threshold, the director any)."""
    return _decide(actor=actor, price_list=price_list, approve=True, note=note)


def pricelist_reject(*, actor, price_list: PriceList, note: str) -> PriceList:
    """Submitted → rejected, with the reason; the drafter may reopen and revise it."""
    note = (note or "").strip()
    if not note:
        raise price_rules.invalid("请填写驳回原因", "note")
    return _decide(actor=actor, price_list=price_list, approve=False, note=note)


def apply_decision(*, actor, request: ApprovalRequest, approved: bool) -> None:
    """What a decided price-list request does (registered with the approval engine):
    approved or rejected, the list records who decided and why; withdrawn by its
    drafter, it is a draft again."""
    pl = _lock(PriceList(pk=request.subject_id))
    before = _pl_snapshot(pl)
    if request.status == ApprovalStatus.WITHDRAWN:
        _move(pl, PriceListStatus.DRAFT)
        pl.status, pl.required_approver, pl.max_change_pct, pl.submitted_at = (
            PriceListStatus.DRAFT,
            "",
            None,
            None,
        )
        pl.save(update_fields=["status", "required_approver", "max_change_pct", "submitted_at"])
    else:
        pl.status = PriceListStatus.APPROVED if approved else PriceListStatus.REJECTED
        pl.decided_by = actor
        pl.decided_at = timezone.now()
        pl.decision_note = (request.decision_reason or "")[:200]
        pl.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    _audit(actor, pl, before=before)


def pricelist_reopen(*, actor, price_list: PriceList) -> PriceList:
    """Rejected → draft, to be revised and submitted again."""
    require_perm(actor, "pricelist.change", price_list.project_id)
    with transaction.atomic():
        pl = _lock(price_list)
        _move(pl, PriceListStatus.DRAFT)
        before = _pl_snapshot(pl)
        pl.status = PriceListStatus.DRAFT
        pl.required_approver = ""
        pl.max_change_pct = None
        pl.submitted_at = None
        pl.save(update_fields=["status", "required_approver", "max_change_pct", "submitted_at"])
        _audit(actor, pl, before=before)
    return pl


# --- applying ---------------------------------------------------------------------------


def _require_apply_perm(actor, pl: PriceList) -> None:
    if not any(has_perm(actor, code, pl.project_id) for code in APPLY_PERMS):
        require_perm(actor, "pricelist.change", pl.project_id)


def pricelist_apply(*, actor, price_list: PriceList, at=None, now=None) -> dict:
    """Apply an approved list now, or record ``at`` (a future time) for
    ``pricelist_apply_due`` to apply it then. Returns what happened:
    ``{"applied": n, "skipped": [[number, reason], …]}`` or ``{"scheduled_at": at}``."""
    _require_apply_perm(actor, price_list)
    now = now or timezone.now()
    if at is not None and at > now:
        with transaction.atomic():
            pl = _lock(price_list)
            if pl.status != PriceListStatus.APPROVED:
                raise conflict(
                    f"只有已批准的方案可以定时执行，该方案当前为「{pl.get_status_display()}」。"
                )
            before = _pl_snapshot(pl)
            pl.scheduled_at = at
            pl.parameters = {k: v for k, v in pl.parameters.items() if k != "apply_error"}
            pl.save(update_fields=["scheduled_at", "parameters"])
            _audit(actor, pl, before=before)
        return {"scheduled_at": at}
    return _apply(actor=actor, price_list=price_list, now=now)


def pricelist_unschedule(*, actor, price_list: PriceList) -> PriceList:
    """Cancel a scheduled apply (the list stays approved)."""
    _require_apply_perm(actor, price_list)
    with transaction.atomic():
        pl = _lock(price_list)
        if pl.status != PriceListStatus.APPROVED or pl.scheduled_at is None:
            raise conflict("该方案没有待执行的定时计划。", "scheduled_at")
        before = _pl_snapshot(pl)
        pl.scheduled_at = None
        pl.save(update_fields=["scheduled_at"])
        _audit(actor, pl, before=before)
    return pl


def _apply(*, actor, price_list: PriceList, now) -> dict:
    """Every unit of the list in one transaction, rows locked in pk order. A unit whose
    price changed since the list was drafted (someone else priced it) refuses the whole
    list as a conflict: of two people pricing one unit, one wins."""
    actor_obj = actor if getattr(actor, "pk", None) else None
    with transaction.atomic():
        pl = _lock(price_list)
        if pl.status != PriceListStatus.APPROVED:
            raise conflict(f"只有已批准的方案可以执行，该方案当前为「{pl.get_status_display()}」。")
        _move(pl, PriceListStatus.APPLIED)
        items = list(pl.items.order_by("unit_id"))
        units = {
            u.pk: u
            for u in Unit.objects.select_for_update()
            .filter(pk__in=[i.unit_id for i in items])
            .order_by("pk")
        }
        skipped, to_write, changed_items = [], [], []
        for item in items:
            unit = units[item.unit_id]
            if unit.status in LOCKED_PRICE_STATUSES:
                reason = f"已{unit.get_status_display()}"
                if not item.skipped or item.skip_reason != reason:
                    item.skipped, item.skip_reason = True, reason
                    changed_items.append(item)
                skipped.append([unit.number, item.skip_reason])
                continue
            if item.skipped:
                skipped.append([unit.number, item.skip_reason])
                continue
            if unit.list_price != item.old_list_price:
                raise DomainError(
                    ErrorCode.CONFLICT,
                    f"房间 {unit.number} 的价格在方案制定后已被他人修改（现表价 {unit.list_price}，"
                    f"方案依据的原表价 {item.old_list_price}），本方案未执行；请重新生成方案。",
                    {"units": [unit.number]},
                )
            new_floor = item.floor_price if item.floor_price is not None else unit.floor_price
            if new_floor is not None and item.list_price < new_floor:
                raise price_rules.invalid(
                    f"房间 {unit.number} 的表价低于底价，本方案未执行。", "units"
                )
            to_write.append((item, unit, new_floor))
        history_before = {}
        for item, unit, new_floor in to_write:
            history_before[unit.pk] = {
                "unit_price": unit.unit_price,
                "list_price": unit.list_price,
                "floor_price": unit.floor_price,
                "pricing_basis": unit.pricing_basis,
                "version": unit.version,
            }
            unit.unit_price = item.unit_price
            unit.list_price = item.list_price
            unit.floor_price = new_floor
            if pl.kind == PriceListKind.PRICE_LIST:
                unit.pricing_basis = pl.pricing_basis
            unit.version += 1
            unit.updated_at = now
        Unit.objects.bulk_update(
            [u for _i, u, _f in to_write],
            ["unit_price", "list_price", "floor_price", "pricing_basis", "version", "updated_at"],
            batch_size=500,
        )
        if changed_items:
            PriceListItem.objects.bulk_update(changed_items, ["skipped", "skip_reason"])
        for _item, unit, _floor in to_write:
            before = history_before[unit.pk]
            price_record(actor=actor_obj, unit=unit, before=before, price_list=pl)
            # The floor price is in the price history only: the audit trail is read by
            # roles that must not see it.
            changes = {
                k: [
                    str(before[k]) if before[k] is not None else None,
                    str(getattr(unit, k)) if getattr(unit, k) is not None else None,
                ]
                for k in ("unit_price", "list_price", "pricing_basis", "version")
                if before[k] != getattr(unit, k)
            }
            audit_record(
                actor=actor_obj,
                action=AuditAction.UPDATE,
                obj=unit,
                changes=changes,
                extra={"price_list": pl.pk, "price_list_version": pl.version},
                username="" if actor_obj else "system",
            )
        before = _pl_snapshot(pl)
        result = {"applied": len(to_write), "skipped": skipped}
        pl.parameters = {
            **{k: v for k, v in pl.parameters.items() if k != "apply_error"},
            "apply_result": result,
        }
        updated = PriceList.objects.filter(pk=pl.pk, status=PriceListStatus.APPROVED).update(
            status=PriceListStatus.APPLIED, applied_at=now, parameters=pl.parameters
        )
        if updated != 1:
            raise DomainError(ErrorCode.CONFLICT)
        pl.status, pl.applied_at = PriceListStatus.APPLIED, now
        _audit(actor_obj, pl, before=before, extra=result)
    return result


def pricelist_apply_due(*, now) -> int:
    """Apply approved price lists whose scheduled time has come; returns how many.

    Each list runs in its own transaction; one that cannot be applied (a unit priced by
    someone else meanwhile, a price below the floor price) is left approved, its
    schedule cleared and the reason recorded on it and in the audit trail."""
    due = list(
        PriceList.objects.filter(
            status=PriceListStatus.APPROVED, scheduled_at__isnull=False, scheduled_at__lte=now
        )
        .order_by("scheduled_at", "pk")
        .values_list("pk", flat=True)
    )
    applied = 0
    for pk in due:
        pl = PriceList(pk=pk)
        try:
            _apply(actor=None, price_list=pl, now=now)
        except DomainError as exc:
            with transaction.atomic():
                pl = _lock(pl)
                if pl.status == PriceListStatus.APPROVED and pl.scheduled_at is not None:
                    before = _pl_snapshot(pl)
                    pl.scheduled_at = None
                    pl.parameters = {**pl.parameters, "apply_error": str(exc.message)}
                    pl.save(update_fields=["scheduled_at", "parameters"])
                    _audit(None, pl, before=before, extra={"error": str(exc.message)})
        else:
            applied += 1
    return applied


# --- reads ------------------------------------------------------------------------------


def pricelist_items(pl: PriceList):
    return pl.items.select_related("unit__building", "unit__layout").order_by(
        "unit__building__sort_order",
        "unit__building_id",
        "unit__stair",
        "-unit__floor",
        "unit__room",
    )


def pricelist_distribution(pl: PriceList, items=None) -> dict:
    """min / max / 均价 by building and layout of the prices the list would set."""
    items = list(items if items is not None else pricelist_items(pl))
    rows = []
    for item in items:
        if item.skipped:
            continue
        unit = item.unit
        try:
            area = _area(pl, unit)
        except DomainError:
            area = None
        rows.append(
            price_rules.StatRow(
                building=unit.building.name,
                layout=unit.layout.name if unit.layout_id else "",
                area=area,
                unit_price=item.unit_price,
                total=item.list_price,
            )
        )
    return price_rules.distribution(rows)


def item_change_pct(item: PriceListItem):
    return price_rules.change_pct(item.old_list_price, item.list_price)


__all__ = [
    "adjustment_create",
    "pricelist_apply",
    "pricelist_apply_due",
    "pricelist_approve",
    "pricelist_distribution",
    "pricelist_generate",
    "pricelist_items",
    "pricelist_reject",
    "pricelist_reopen",
    "pricelist_scale_to_average",
    "pricelist_set_override",
    "pricelist_submit",
    "pricelist_unschedule",
    "units_matching",
    "UnitStatus",
]
