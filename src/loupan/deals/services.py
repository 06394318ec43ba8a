"""Deal actions: reserve, subscribe (with discounts and their approval), confirm the
deposit, sign the contract, release or let a reservation expire; the one approval
mechanism; gapless document numbers (seeds 000, 001, 002 二.1–二.4; 民法典 586)."""

import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from loupan.accounts import access
from loupan.audit.services import audit_create, audit_update
from loupan.core.errors import DomainError, ErrorCode
from loupan.core.money import money, to_decimal
from loupan.core.snapshot import snapshot
from loupan.customers.models import Customer, Stage
from loupan.inventory.models import PricingBasis, Unit, UnitStatus
from loupan.inventory.services import units_deal_move

from .models import (
    ApprovalKind,
    ApprovalRequest,
    ApprovalStatus,
    ApprovalStep,
    Deal,
    DealBuyer,
    DealDiscount,
    DealPolicy,
    DealStatus,
    DealUnit,
    DiscountAuthority,
    DiscountType,
    DocumentCounter,
    FilingStatus,
    PaymentMethod,
    SpecialClause,
)
from .pricing import quote

NUMBER_PREFIX = {"reservation": "BL", "subscription": "RG", "contract": "HT"}


def invalid(field: str, reason: str, message: str | None = None) -> DomainError:
    return DomainError(ErrorCode.INVALID, message or reason, {field: [reason]})


def conflict(message: str, field: str = "status") -> DomainError:
    return DomainError(ErrorCode.CONFLICT, message, {field: [message]})


# --- settings, numbers ------------------------------------------------------------------


def policy(project) -> DealPolicy:
    found = DealPolicy.objects.filter(project_id=project.pk).first()
    return found or DealPolicy(project_id=project.pk)


def next_number(project, kind: str) -> str:
    """The next gapless number of ``kind`` in the project (BL/RG/HT-<code>-000001). The
    counter row stays locked until the calling transaction ends, so concurrent deals
    queue here and a rolled-back one gives its number back."""
    DocumentCounter.objects.get_or_create(project_id=project.pk, kind=kind)
    DocumentCounter.objects.filter(project_id=project.pk, kind=kind).update(last=F("last") + 1)
    last = DocumentCounter.objects.get(project_id=project.pk, kind=kind).last
    return f"{NUMBER_PREFIX.get(kind, kind.upper())}-{project.code}-{last:06d}"


# --- the approval chain -----------------------------------------------------------------


def chain() -> list[str]:
    return list(settings.LOUPAN_APPROVAL_CHAIN)


def authority(project, role_code: str) -> Decimal:
    """The total discount (%) a role may grant on its own in the project."""
    row = DiscountAuthority.objects.filter(project_id=project.pk, role__code=role_code).first()
    if row is not None:
        return row.max_pct
    return Decimal(str(settings.LOUPAN_DISCOUNT_AUTHORITY.get(role_code, 0)))


def level_of(user, project) -> int:
    """The user's highest position in the chain on the project (-1: not in it)."""
    codes = access.role_codes(user, project)
    positions = [i for i, code in enumerate(chain()) if code in codes]
    return max(positions, default=-1)


def final_level_for(project, pct: Decimal, below_floor: bool) -> str:
    """The lowest role whose authority covers ``pct``; the top of the chain when the
    price is below the floor price or beyond everyone's authority."""
    if not below_floor:
        for code in chain():
            if pct <= authority(project, code):
                return code
    return chain()[-1]


def _needs(project, user, pct: Decimal, below_floor: bool) -> str | None:
    """None when ``user`` may grant it alone, else the role that must finally approve."""
    final = final_level_for(project, pct, below_floor)
    if level_of(user, project) >= chain().index(final):
        return None
    return final


def _new_request(
    *,
    actor,
    deal: Deal,
    kind: str,
    payload: dict,
    reason: str,
    level: str,
    final: str,
    busy=("该交易已有同类审批在处理中。", "kind"),
    **decided,
) -> ApprovalRequest:
    """Write a request (audited); a second open one of its kind on the deal is refused
    with ``busy`` (message, field) by the one-open-request constraint."""
    if not (reason or "").strip():
        raise invalid("reason", "请填写申请理由")
    try:
        with transaction.atomic():
            request = ApprovalRequest.objects.create(
                project=deal.project,
                deal=deal,
                kind=kind,
                payload=payload,
                reason=reason.strip(),
                requested_by=actor,
                requested_at=timezone.now(),
                level=level,
                final_level=final,
                **decided,
            )
    except IntegrityError as exc:
        raise conflict(*busy) from exc
    audit_create(actor=actor, obj=request)
    return request


def approval_request(*, actor, deal: Deal, kind: str, payload: dict, reason: str, final: str):
    """Open a request at the level just above the requester (never skipping a level)."""
    start = min(level_of(actor, deal.project) + 1, chain().index(final))
    return _new_request(
        actor=actor,
        deal=deal,
        kind=kind,
        payload=payload,
        reason=reason,
        level=chain()[start],
        final=final,
    )


def approval_submit(*, actor, deal: Deal, kind: str, payload: dict, reason: str, final: str):
    """A change that needs ``final``'s approval: a requester who holds that level (or a
    higher one) decides it at once — recorded as a request approved by them, so every
    change has its request — anyone else opens a request one level above themselves."""
    if level_of(actor, deal.project) < chain().index(final):
        return approval_request(
            actor=actor, deal=deal, kind=kind, payload=payload, reason=reason, final=final
        )
    now = timezone.now()
    request = _new_request(
        actor=actor,
        deal=deal,
        kind=kind,
        payload=payload,
        reason=reason,
        level=final,
        final=final,
        status=ApprovalStatus.APPROVED,
        decided_by=actor,
        decided_at=now,
        decision_reason="本人权限内办理",
    )
    ApprovalStep.objects.create(
        request=request, level=final, actor=actor, decision="approve", reason="", at=now
    )
    APPLY[kind](actor=actor, request=request, approved=True)
    return request


def approval_withdraw(*, actor, request: ApprovalRequest) -> ApprovalRequest:
    """The requester (or a lead) takes back a request still waiting: what it asked for
    is undone as a rejection would (a held unit is released, a discount goes back to
    the reservation)."""
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        if request.requested_by_id != actor.pk and not access.has_perm(
            actor, "deal.approve", request.project_id
        ):
            raise DomainError(ErrorCode.PERMISSION_DENIED, "只有申请人或主管可以撤回申请。")
        if request.status != ApprovalStatus.PENDING:
            raise conflict("该申请已处理，不能撤回。")
        before = snapshot(request)
        now = timezone.now()
        ApprovalStep.objects.create(
            request=request, level=request.level, actor=actor, decision="withdraw", at=now
        )
        request.status = ApprovalStatus.WITHDRAWN
        request.decided_by, request.decided_at = actor, now
        request.save()
        audit_update(actor=actor, obj=request, before=before, extra={"decision": "withdraw"})
        APPLY[request.kind](actor=actor, request=request, approved=False)
    return request


def can_decide(user, request: ApprovalRequest) -> bool:
    return request.status == ApprovalStatus.PENDING and (
        access.has_perm(user, "deal.approve", request.project_id)
        and request.level in access.role_codes(user, request.project_id)
    )


def approval_decide(*, actor, request: ApprovalRequest, approve: bool, reason: str = ""):
    """The role asked now decides: a rejection ends the request; an approval below the
    final level forwards it one level up; at the final level the change is applied."""
    with transaction.atomic():
        access.require_perm(actor, "deal.approve", request.project_id)
        request = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != ApprovalStatus.PENDING:
            raise conflict("该申请已处理。")
        if request.level not in access.role_codes(actor, request.project_id):
            raise DomainError(
                ErrorCode.PERMISSION_DENIED, "该申请当前不在您的审批级别，不能越级审批。"
            )
        if not approve and not (reason or "").strip():
            raise invalid("reason", "驳回须填写意见")
        before = snapshot(request)
        now = timezone.now()
        final = request.level == request.final_level
        decision = "approve" if approve and final else ("forward" if approve else "reject")
        ApprovalStep.objects.create(
            request=request,
            level=request.level,
            actor=actor,
            decision=decision,
            reason=(reason or "").strip(),
            at=now,
        )
        if decision == "forward":
            request.level = chain()[chain().index(request.level) + 1]
        else:
            request.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
            request.decided_by, request.decided_at = actor, now
            request.decision_reason = (reason or "").strip()
        request.save()
        audit_update(actor=actor, obj=request, before=before, extra={"decision": decision})
        if decision != "forward":
            APPLY[request.kind](actor=actor, request=request, approved=approve)
    return request


def pending_for(user, project):
    """待我审批: the requests waiting at a level the user holds."""
    return (
        ApprovalRequest.objects.filter(
            project=project,
            status=ApprovalStatus.PENDING,
            level__in=access.role_codes(user, project),
        )
        .select_related("deal", "deal__unit", "deal__customer", "requested_by")
        .order_by("requested_at", "pk")
        if access.has_perm(user, "deal.approve", project)
        else ApprovalRequest.objects.none()
    )


# --- reservation 保留单 ------------------------------------------------------------------


def _require_customer(actor, project, customer: Customer, field: str = "customer") -> None:
    if customer.project_id != project.pk or customer.anonymized_at is not None:
        raise invalid(field, "客户不属于本项目")
    if customer.owner_id != actor.pk and not access.has_perm(actor, "customer.assign", project):
        raise DomainError(
            ErrorCode.PERMISSION_DENIED, "只能为自己的客户预留或认购。", {field: ["不是您的客户"]}
        )


def _deal_units(unit: Unit) -> list[Unit]:
    """The home and what is attached to it (parking, storage follow its deal)."""
    return [unit, *Unit.objects.filter(attached_to=unit).order_by("pk")]


def deal_reserve(*, actor, unit: Unit, customer: Customer, note: str = "") -> Deal:
    """保留单: hold an available unit for the consultant's customer for the project's
    reservation time. Held (销控保留), unreleased or 不可售 units cannot be reserved; two
    consultants reserving one unit at the same moment: one wins, the other gets a
    conflict (the conditional UPDATE, then the live-deal unique index)."""
    project = unit.project
    access.require_perm(actor, "deal.add", project)
    _require_customer(actor, project, customer)
    if unit.status != UnitStatus.AVAILABLE or not unit.sellable:
        raise conflict(
            f"房间 {unit.number} 当前为「{unit.get_status_display()}」"
            + ("" if unit.sellable else "（不可售）")
            + "，不能预留。",
            "unit",
        )
    units = _deal_units(unit)
    now = timezone.now()
    try:
        with transaction.atomic():
            units_deal_move(
                actor=actor,
                project=project,
                unit_ids=[u.pk for u in units],
                to_status=UnitStatus.RESERVED,
                expected=(UnitStatus.AVAILABLE,),
                reason="预留（保留单）",
            )
            deal = Deal.objects.create(
                project=project,
                unit=unit,
                customer=customer,
                consultant=customer.owner or actor,
                reservation_number=next_number(project, "reservation"),
                reserved_at=now,
                reservation_expires_at=now
                + datetime.timedelta(hours=policy(project).reservation_hours),
                note=note,
                created_by=actor,
            )
            DealUnit.objects.bulk_create(
                DealUnit(deal=deal, unit=u, is_main=u.pk == unit.pk, list_price=u.list_price or 0)
                for u in units
            )
            audit_create(actor=actor, obj=deal)
    except IntegrityError as exc:
        raise conflict(f"房间 {unit.number} 已在另一笔交易中。", "unit") from exc
    except DomainError as exc:
        if exc.code == ErrorCode.CONFLICT:
            raise conflict(
                f"房间 {unit.number} 刚被他人预留或保留，请刷新销控表。", "unit"
            ) from exc
        raise
    return deal


def _end(*, actor, deal: Deal, status: str, reason: str, unit_from: tuple) -> Deal:
    """End a live deal: its units go back to available and stop counting as live."""
    if not deal.can_move_to(status):
        raise conflict(
            f"交易当前为「{deal.get_status_display()}」，不能改为「{DealStatus(status).label}」。"
        )
    before = snapshot(deal)
    unit_ids = list(deal.units.filter(live=True).values_list("unit_id", flat=True))
    deal.units.update(live=False)
    units_deal_move(
        actor=actor,
        project=deal.project,
        unit_ids=unit_ids,
        to_status=UnitStatus.AVAILABLE,
        expected=unit_from,
        reason=reason,
    )
    deal.status, deal.ended_at, deal.end_reason = status, timezone.now(), reason
    deal.save()
    audit_update(actor=actor, obj=deal, before=before, extra={"reason": reason})
    return deal


def _own_or(actor, deal: Deal, code: str) -> None:
    if not (
        (deal.consultant_id == actor.pk and access.has_perm(actor, "deal.add", deal.project_id))
        or access.has_perm(actor, code, deal.project_id)
    ):
        access.require_perm(actor, code, deal.project_id)


def deal_release(*, actor, deal: Deal, reason: str) -> Deal:
    """The consultant (or a lead) withdraws a reservation, or a subscription whose
    deposit was never confirmed: the unit is available again."""
    _own_or(actor, deal, "deal.approve")
    if not (reason or "").strip():
        raise invalid("reason", "请填写撤销原因")
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        if deal.status not in (DealStatus.RESERVED, DealStatus.APPROVAL, DealStatus.PENDING):
            raise conflict("只有未确认定金的交易可以撤销；已认购的交易请走退房流程。")
        withdraw_open(deal)
        return _end(
            actor=actor,
            deal=deal,
            status=DealStatus.RELEASED,
            reason=reason.strip(),
            unit_from=(UnitStatus.RESERVED,),
        )


def withdraw_open(deal: Deal) -> None:
    """A deal that ends leaves no request waiting on it (a discount, a special clause);
    nothing of theirs is left to undo once the deal itself is over."""
    deal.approvals.filter(status=ApprovalStatus.PENDING).update(status=ApprovalStatus.WITHDRAWN)


def deals_expire(*, now=None, deal_ids=None) -> int:
    """Reservations past their time return their units to available by themselves (a
    reservation waiting for a discount approval does not run out meanwhile): every one
    from ``loupan run-due``, or the ``deal_ids`` that an action finds expired (it ends
    them, in their own transaction, before refusing)."""
    now = now or timezone.now()
    count = 0
    due = Deal.objects.filter(status=DealStatus.RESERVED, reservation_expires_at__lte=now)
    if deal_ids is not None:
        due = due.filter(pk__in=deal_ids)
    for pk in list(due.values_list("pk", flat=True)):
        with transaction.atomic():
            deal = Deal.objects.select_for_update().get(pk=pk)
            if deal.status != DealStatus.RESERVED or deal.reservation_expires_at > now:
                continue
            _end(
                actor=None,
                deal=deal,
                status=DealStatus.EXPIRED,
                reason="保留到期自动释放",
                unit_from=(UnitStatus.RESERVED,),
            )
            count += 1
    return count


def process_due(*, now=None) -> dict:
    return {"reservations_expired": deals_expire(now=now)}


# --- subscription 认购 -------------------------------------------------------------------


def _buyers(actor, deal: Deal, buyers) -> list[tuple[Customer, Decimal]]:
    """``[(customer, share)]``: one or more customers of the project, shares summing to
    exactly 100%. A co-buyer is the deal's customer, a member of their household, or a
    customer the actor may see: nobody learns of another consultant's customer here."""
    project = deal.project
    if not buyers:
        raise invalid("buyers", "请至少填写一位买受人")
    visible = Customer.objects.restrict(actor, "view").filter(project=project)
    family = deal.customer.household_id
    seen, result = set(), []
    for customer, share in buyers:
        if customer.project_id != project.pk or customer.anonymized_at is not None:
            raise invalid("buyers", "买受人不是本项目的客户")
        if not (
            customer.pk == deal.customer_id
            or (family and customer.household_id == family)
            or visible.filter(pk=customer.pk).exists()
        ):
            raise invalid("buyers", "买受人须是本交易的客户、其家庭成员或您的客户")
        if customer.pk in seen:
            raise invalid("buyers", f"买受人 {customer.name} 重复")
        seen.add(customer.pk)
        try:
            share = money(share)
        except (TypeError, ValueError) as exc:
            raise invalid("buyers", "产权份额必须是数字") from exc
        if share <= 0 or share > 100:
            raise invalid("buyers", "每位买受人的产权份额须大于 0 且不超过 100%")
        result.append((customer, share))
    if sum(share for _, share in result) != Decimal("100.00"):
        raise invalid("buyers", "买受人的产权份额合计必须为 100%")
    return result


def _discount_steps(project, discounts) -> list[tuple[DiscountType, Decimal]]:
    """``[(discount_type, value or None)]`` → the active types of the project in their
    set order; a variable type (特批) takes the value given."""
    steps = []
    for discount_type, value in discounts:
        if discount_type.project_id != project.pk or not discount_type.is_active:
            raise invalid("discounts", f"折扣「{discount_type.name}」不适用于本项目")
        if discount_type.variable:
            if value in (None, ""):
                raise invalid("discounts", f"请填写「{discount_type.name}」的折扣值")
            try:
                value = to_decimal(value)
            except (TypeError, ValueError) as exc:
                raise invalid("discounts", f"「{discount_type.name}」的折扣值必须是数字") from exc
            if value < 0:
                raise invalid("discounts", f"「{discount_type.name}」的折扣值不能为负数")
        else:
            value = discount_type.value
        steps.append((discount_type, value))
    if len({t.pk for t, _ in steps}) != len(steps):
        raise invalid("discounts", "同一折扣只能使用一次")
    return sorted(steps, key=lambda s: (s[0].sort_order, s[0].pk))


def price_units(units, steps) -> tuple:
    """The quote and the floor total of ``units`` as priced now, with ``steps``
    (``(name, kind, value)`` in order); no floor total when a unit has none."""
    list_total = sum((u.list_price or Decimal(0) for u in units), Decimal(0))
    floors = [u.floor_price for u in units]
    floor_total = sum(floors, Decimal(0)) if all(f is not None for f in floors) else None
    return quote(list_total, steps), floor_total


def price_of(deal: Deal, discounts) -> tuple:
    """The quote and the floor total of a deal's units with these discounts."""
    units = [du.unit for du in deal.units.select_related("unit").order_by("-is_main", "pk")]
    return price_units(units, [(t.name, t.kind, v) for t, v in discounts])


def priced_area(unit: Unit):
    """The area the unit is priced by (套内 or 建筑面积)."""
    if unit.pricing_basis == PricingBasis.INTERNAL_AREA:
        return unit.internal_area
    return unit.gross_area


def deal_subscribe(
    *,
    actor,
    deal: Deal,
    buyers,
    payment_method: str,
    deposit,
    down_payment=None,
    discounts=(),
    reason: str = "",
) -> Deal:
    """认购: the agreed terms are fixed — buyers and shares, area and prices as the unit
    is priced now, the discounts in order, the total, payment method, deposit (at most
    the project's cap, 20% by 民法典 586) and the signing deadline. Within the actor's
    discount authority and not below the floor price it waits only for finance to
    confirm the deposit; beyond it, an approval request climbs the chain."""
    _own_or(actor, deal, "deal.approve")
    project = deal.project
    buyer_rows = _buyers(actor, deal, buyers)
    steps = _discount_steps(project, discounts)
    if payment_method not in PaymentMethod.values:
        raise invalid("payment_method", "请选择付款方式")
    if deals_expire(deal_ids=[deal.pk]):
        raise conflict("保留单已过期，请重新预留。", "reservation_expires_at")
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        if deal.status != DealStatus.RESERVED:
            raise conflict(f"交易当前为「{deal.get_status_display()}」，不能认购。")
        if deal.reservation_expires_at and deal.reservation_expires_at <= timezone.now():
            raise conflict("保留单已过期，请重新预留。", "reservation_expires_at")
        q, floor_total = price_of(deal, steps)
        rules = policy(project)
        try:
            deposit = money(deposit)
        except (TypeError, ValueError) as exc:
            raise invalid("deposit", "定金必须是数字") from exc
        cap = money(q.total * rules.deposit_max_pct / 100)
        if deposit <= 0:
            raise invalid("deposit", "定金必须大于 0")
        if deposit > cap:
            raise invalid(
                "deposit",
                f"定金不能超过成交总价的 {rules.deposit_max_pct}%（{cap} 元，民法典第586条）",
            )
        if down_payment not in (None, ""):
            try:
                down_payment = money(down_payment)
            except (TypeError, ValueError) as exc:
                raise invalid("down_payment", "首付款必须是数字") from exc
            if down_payment < 0 or down_payment > q.total:
                raise invalid("down_payment", "首付款须在 0 与成交总价之间")
        else:
            down_payment = None
        unit = deal.unit
        before = snapshot(deal)
        now = timezone.now()
        deal.pricing_basis = unit.pricing_basis
        deal.area = priced_area(unit)
        deal.unit_price = unit.unit_price
        deal.list_total, deal.floor_total = q.list_total, floor_total
        deal.discount_amount, deal.total = q.discount_amount, q.total
        deal.payment_method, deal.deposit, deal.down_payment = payment_method, deposit, down_payment
        deal.subscribed_at = now
        deal.signing_deadline = timezone.localdate() + datetime.timedelta(days=rules.signing_days)
        if not deal.number:
            deal.number = next_number(project, "subscription")
        deal.buyers.all().delete()
        DealBuyer.objects.bulk_create(
            DealBuyer(deal=deal, customer=c, share=share, sort_order=i)
            for i, (c, share) in enumerate(buyer_rows)
        )
        deal.discounts.all().delete()
        DealDiscount.objects.bulk_create(
            DealDiscount(
                deal=deal,
                discount_type=t,
                name=s.name,
                kind=s.kind,
                value=s.value,
                amount=s.amount,
                total_after=s.total_after,
                sort_order=i,
            )
            for i, ((t, _), s) in enumerate(zip(steps, q.steps, strict=True))
        )
        below_floor = floor_total is not None and q.total < floor_total
        final = _needs(project, actor, q.discount_pct, below_floor)
        if final is not None and not (reason or "").strip():
            raise invalid(
                "reason",
                "折扣超出您的权限或低于最低限价，请填写申请理由（将提交上级审批）",
            )
        deal.status = DealStatus.PENDING if final is None else DealStatus.APPROVAL
        deal.save()
        audit_update(actor=actor, obj=deal, before=before, extra={"action": "subscribe"})
        if final is not None:
            approval_request(
                actor=actor,
                deal=deal,
                kind=ApprovalKind.DISCOUNT,
                payload={
                    "list_total": str(q.list_total),
                    "total": str(q.total),
                    "discount_pct": str(q.discount_pct),
                    "below_floor": below_floor,
                },
                reason=reason,
                final=final,
            )
    return deal


def _apply_discount(*, actor, request: ApprovalRequest, approved: bool) -> None:
    deal = Deal.objects.select_for_update().get(pk=request.deal_id)
    if deal.status != DealStatus.APPROVAL:
        return
    before = snapshot(deal)
    # Approved: the subscription waits for the deposit. Rejected: back to the
    # reservation, to subscribe again within authority (its reservation time restarts).
    deal.status = DealStatus.PENDING if approved else DealStatus.RESERVED
    if not approved:
        deal.reservation_expires_at = timezone.now() + datetime.timedelta(
            hours=policy(deal.project).reservation_hours
        )
    deal.save()
    audit_update(actor=actor, obj=deal, before=before, extra={"approval": request.pk})


def deal_confirm_deposit(*, actor, deal: Deal) -> Deal:
    """Finance confirms the deposit: only now is the unit 认购 on the board (seed 002
    二.1(1)), and the buyers become 成交 customers."""
    access.require_perm(actor, "deal.confirm", deal.project_id)
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        if deal.status != DealStatus.PENDING:
            raise conflict(f"交易当前为「{deal.get_status_display()}」，没有待确认的定金。")
        before = snapshot(deal)
        units_deal_move(
            actor=actor,
            project=deal.project,
            unit_ids=list(deal.units.filter(live=True).values_list("unit_id", flat=True)),
            to_status=UnitStatus.SUBSCRIBED,
            expected=(UnitStatus.RESERVED,),
            reason=f"认购 {deal.number}（定金已确认）",
        )
        deal.status = DealStatus.SUBSCRIBED
        deal.deposit_confirmed_at, deal.deposit_confirmed_by = timezone.now(), actor
        deal.save()
        audit_update(actor=actor, obj=deal, before=before, extra={"action": "confirm_deposit"})
        buyers_stage(
            actor, deal, [deal.customer_id, *deal.buyers.values_list("customer_id", flat=True)]
        )
    return deal


def buyers_stage(actor, deal: Deal, customer_ids, stage: str = Stage.DEAL) -> None:
    """Move the deal's buyers to ``stage`` (成交 when the deposit is confirmed or a buyer
    joins; back to 意向 after a cancellation), audited per customer."""
    for buyer in Customer.objects.filter(pk__in=list(customer_ids)).exclude(stage=stage):
        before = snapshot(buyer)
        buyer.stage = stage
        buyer.save(update_fields=["stage", "updated_at"])
        audit_update(actor=actor, obj=buyer, before=before, extra={"deal": deal.number})


# --- contract 签约 -----------------------------------------------------------------------


def clause_add(*, actor, deal: Deal, text: str) -> SpecialClause:
    """A special clause 特殊条款 waits for the sales director's approval (seed 001 篇2)."""
    _own_or(actor, deal, "deal.contract")
    if not (text or "").strip():
        raise invalid("text", "请填写条款内容")
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        if deal.status not in (DealStatus.PENDING, DealStatus.SUBSCRIBED):
            raise conflict("只能在签约前为认购的交易增加特殊条款。")
        clause = SpecialClause.objects.create(deal=deal, text=text.strip())
        audit_create(actor=actor, obj=clause)
        # straight to the director, who alone approves special clauses
        _new_request(
            actor=actor,
            deal=deal,
            kind=ApprovalKind.CLAUSE,
            payload={"clause": clause.pk, "text": clause.text},
            reason="特殊条款须经销售总监批准",
            level=chain()[-1],
            final=chain()[-1],
            busy=("该交易已有一条特殊条款在审批中，请等审批后再加。", "text"),
        )
    return clause


def _apply_clause(*, actor, request: ApprovalRequest, approved: bool) -> None:
    clause = SpecialClause.objects.filter(pk=request.payload.get("clause")).first()
    if clause is None:
        return
    before = snapshot(clause)
    # A rejected (or withdrawn) clause is kept for the record and never signed; it no
    # longer holds up the contract.
    clause.approved, clause.rejected = approved, not approved
    clause.save()
    audit_update(actor=actor, obj=clause, before=before)


def deal_contract(
    *,
    actor,
    deal: Deal,
    signed_on=None,
    contract_number: str = "",
    delivery_date=None,
    filing_status: str = FilingStatus.NONE,
    filing_number: str = "",
) -> Deal:
    """签约: the subscription's terms carry over unchanged; every special clause must be
    approved; the contract number is the one given (the housing authority's) or the
    next gapless one. The unit turns 签约."""
    _own_or(actor, deal, "deal.contract")
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        if deal.status != DealStatus.SUBSCRIBED:
            raise conflict(
                f"交易当前为「{deal.get_status_display()}」，认购（定金已确认）后才能签约。"
            )
        if (
            deal.clauses.filter(approved=False, rejected=False).exists()
            or deal.approvals.filter(
                kind=ApprovalKind.CLAUSE, status=ApprovalStatus.PENDING
            ).exists()
        ):
            raise conflict("还有特殊条款未经销售总监批准，不能签约。", "clauses")
        if filing_status not in FilingStatus.values:
            raise invalid("filing_status", "网签备案状态无效")
        signed_on = signed_on or timezone.localdate()
        if signed_on > timezone.localdate():
            raise invalid("signed_on", "签约日期不能晚于今天")
        before = snapshot(deal)
        units_deal_move(
            actor=actor,
            project=deal.project,
            unit_ids=list(deal.units.filter(live=True).values_list("unit_id", flat=True)),
            to_status=UnitStatus.CONTRACTED,
            expected=(UnitStatus.SUBSCRIBED,),
            reason="签约",
        )
        deal.contract_number = (contract_number or "").strip() or next_number(
            deal.project, "contract"
        )
        deal.signed_on, deal.delivery_date = signed_on, delivery_date
        deal.filing_status, deal.filing_number = filing_status, (filing_number or "").strip()
        deal.status = DealStatus.CONTRACTED
        try:
            with transaction.atomic():
                deal.save()
        except IntegrityError as exc:
            raise invalid("contract_number", "合同编号已被使用") from exc
        audit_update(actor=actor, obj=deal, before=before, extra={"action": "contract"})
    return deal


def contract_update_filing(*, actor, deal: Deal, filing_status: str, filing_number: str = ""):
    """网签备案 status and number, updated by the sales admin after signing."""
    access.require_perm(actor, "deal.contract", deal.project_id)
    if filing_status not in FilingStatus.values:
        raise invalid("filing_status", "网签备案状态无效")
    if filing_status != FilingStatus.NONE and not (filing_number or "").strip():
        raise invalid("filing_number", "请填写网签备案号")
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        if deal.status != DealStatus.CONTRACTED:
            raise conflict("只有已签约的交易有网签备案。")
        before = snapshot(deal)
        deal.filing_status, deal.filing_number = filing_status, (filing_number or "").strip()
        deal.save()
        audit_update(actor=actor, obj=deal, before=before)
    return deal


def may_see_scan(user, deal: Deal) -> bool:
    """The scanned contract holds the buyers' ID numbers: its consultant, the contract
    desk (sales admin, manager, director) and the approving leads only."""
    perms = access.perms_in(user, deal.project_id)
    return deal.consultant_id == user.pk or "deal.contract" in perms or "deal.approve" in perms


def contract_upload_scan(*, actor, deal: Deal, upload) -> Deal:
    """The scanned contract (PDF or image), checked by content and size, stored outside
    the web root and served only to permitted users (seed 004)."""
    from django.core.exceptions import ValidationError

    from loupan.core.uploads import validate_document

    _own_or(actor, deal, "deal.contract")
    try:
        extension = validate_document(upload)
    except ValidationError as exc:
        raise invalid("contract_scan", exc.messages[0]) from exc
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        if deal.status != DealStatus.CONTRACTED:
            raise conflict("签约后才能上传合同扫描件。")
        before = snapshot(deal)
        deal.contract_scan.save(f"{deal.project_id}/{deal.pk}.{extension}", upload, save=False)
        deal.save()
        audit_update(actor=actor, obj=deal, before=before)
    return deal


# What an approved, rejected or withdrawn request does, by kind; the changes after
# subscription (exchange, rename, cancellation) add theirs in ``changes``, deferred
# payment will add its own with the Payments issue.
APPLY = {
    ApprovalKind.DISCOUNT: _apply_discount,
    ApprovalKind.CLAUSE: _apply_clause,
}

from . import changes  # noqa: E402,F401  (registers its APPLY entries)
