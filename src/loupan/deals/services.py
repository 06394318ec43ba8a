"""Deal actions: reserve, subscribe (with discounts and their approval), confirm the
deposit, sign the contract, release or let a reservation expire; the one approval
mechanism; gapless document numbers (seeds 000, 001, 002 二.1–二.4; 民法典 586)."""

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from loupan.accounts import access
from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalRequest, ApprovalStatus
from loupan.audit.services import audit_create, audit_update
from loupan.core.errors import DomainError, ErrorCode, conflict, invalid
from loupan.core.money import money, to_decimal
from loupan.core.numbering import next_number
from loupan.core.snapshot import snapshot
from loupan.core.uploads import validate_document
from loupan.customers.models import Customer, Stage
from loupan.inventory.models import PricingBasis, Unit, UnitStatus
from loupan.inventory.services import holds_expire, units_deal_lapse, units_deal_move

from . import ports, rules
from .errors import DealError
from .models import (
    ApprovalKind,
    Deal,
    DealBuyer,
    DealDiscount,
    DealStatus,
    DealUnit,
    DiscountType,
    FilingStatus,
    PaymentMethod,
    SpecialClause,
)
from .pricing import quote
from .rules import deposit_cap, ensure, policy

BUSY = ("该交易已有同类审批在处理中。", "kind")


def approval_request(*, actor, deal: Deal, **request):
    """Open a deal's request in the approval engine, one level above the requester
    (``kind``, ``payload``, ``reason``, ``final`` as ``approvals.approval_request``)."""
    return approvals.approval_request(
        actor=actor, project=deal.project, subject=deal, busy=BUSY, **request
    )


def approval_submit(*, actor, deal: Deal, **request):
    """A deal change that ``final`` approves: decided at once by a requester who holds
    that level, else a request one level above them (``approvals.approval_submit``)."""
    return approvals.approval_submit(
        actor=actor, project=deal.project, subject=deal, busy=BUSY, **request
    )


# --- reservation 保留单 ------------------------------------------------------------------


# A customer the actor may not reserve for reads exactly as one that does not exist: a
# consultant must not learn which ids are a colleague's customers (issue 12).
CUSTOMER_REFUSED = "客户不存在或不属于本项目（只能为自己的客户预留或认购）"


def _require_customer(actor, project, customer: Customer | None, field: str = "customer") -> None:
    """The customer is the actor's own (or the actor may assign customers) and a live
    customer of the project; any other customer, or none, is the same refusal."""
    if (
        customer is None
        or customer.project_id != project.pk
        or customer.anonymized_at is not None
        or (
            customer.owner_id != actor.pk and not access.has_perm(actor, "customer.assign", project)
        )
    ):
        raise invalid(field, CUSTOMER_REFUSED)


def units_with_attached(unit: Unit) -> list[Unit]:
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
    if unit.status_now != unit.status:
        # its hold or reservation has run out and run-due has not written it yet: end it
        # now (an action may write), then reserve as if it had
        if unit.status == UnitStatus.HELD:
            holds_expire(unit_ids=[unit.pk])
        else:
            deals_expire(
                deal_ids=list(
                    Deal.objects.filter(units__unit=unit, units__live=True).values_list(
                        "pk", flat=True
                    )
                )
            )
        unit.refresh_from_db()
    if not unit.is_open_for_sale:
        raise conflict(
            f"房间 {unit.number} 当前为「{unit.get_status_display()}」"
            + ("" if unit.sellable else "（不可售）")
            + "，不能预留。",
            "unit",
        )
    units = units_with_attached(unit)
    now = timezone.now()
    expires = now + datetime.timedelta(hours=policy(project).reservation_hours)
    try:
        # no savepoint: a refusal here is the caller's failure too (opening day's pick
        # runs inside its own transaction and saves the round trips)
        with transaction.atomic(savepoint=False):
            units_deal_move(
                actor=actor,
                project=project,
                unit_ids=[u.pk for u in units],
                to_status=UnitStatus.RESERVED,
                expected=(UnitStatus.AVAILABLE,),
                reason="预留（保留单）",
                until=expires,
            )
            deal = Deal.objects.create(
                project=project,
                unit=unit,
                customer=customer,
                consultant=customer.owner or actor,
                reservation_number=next_number(project, "reservation"),
                reserved_at=now,
                reservation_expires_at=expires,
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


def _live_unit_ids(deal: Deal) -> list[int]:
    return list(deal.units.filter(live=True).values_list("unit_id", flat=True))


def deal_end(*, actor, deal: Deal, status: str, reason: str, unit_from: tuple) -> Deal:
    """End a live deal: its units go back to available and stop counting as live."""
    if not deal.can_move_to(status):
        raise conflict(
            f"交易当前为「{deal.get_status_display()}」，不能改为「{DealStatus(status).label}」。"
        )
    before = snapshot(deal)
    unit_ids = _live_unit_ids(deal)
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


def deal_release(*, actor, deal: Deal, reason: str) -> Deal:
    """The consultant (or a lead) withdraws a reservation, or a subscription whose
    deposit was never confirmed: the unit is available again."""
    ensure(rules.can_release(actor, deal))
    if not (reason or "").strip():
        raise invalid("reason", "请填写撤销原因")
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        ensure(rules.can_release(actor, deal))
        approvals.withdraw_open(deal)
        return deal_end(
            actor=actor,
            deal=deal,
            status=DealStatus.RELEASED,
            reason=reason.strip(),
            unit_from=(UnitStatus.RESERVED,),
        )


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
            deal_end(
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


BUYER_REFUSED = "买受人须是本交易的客户、其家庭成员或您的客户"


def buyers_checked(actor, deal: Deal, buyers) -> list[tuple[Customer, Decimal]]:
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
            raise invalid("buyers", BUYER_REFUSED)
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
    ensure(rules.can_subscribe(actor, deal))
    project = deal.project
    buyer_rows = buyers_checked(actor, deal, buyers)
    steps = _discount_steps(project, discounts)
    if payment_method not in PaymentMethod.values:
        raise invalid("payment_method", "请选择付款方式")
    expired = conflict(
        "保留单已过期，请重新预留。", "reservation_expires_at", DealError.RESERVATION_EXPIRED
    )
    if deals_expire(deal_ids=[deal.pk]):
        raise expired
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        ensure(rules.can_subscribe(actor, deal))
        if deal.reservation_expires_at and deal.reservation_expires_at <= timezone.now():
            raise expired
        q, floor_total = price_of(deal, steps)
        deal_policy = policy(project)
        try:
            deposit = money(deposit)
        except (TypeError, ValueError) as exc:
            raise invalid("deposit", "定金必须是数字") from exc
        cap = deposit_cap(project, q.total)
        if deposit <= 0:
            raise invalid("deposit", "定金必须大于 0")
        if deposit > cap:
            raise invalid(
                "deposit",
                f"定金不能超过成交总价的 {deal_policy.deposit_max_pct}%（{cap} 元，民法典第586条）",
                code=DealError.DEPOSIT_OVER_CAP,
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
        deal.signing_deadline = timezone.localdate() + datetime.timedelta(
            days=deal_policy.signing_days
        )
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
        approval = rules.price_approval(actor, project, q.discount_pct, below_floor)
        final = approval.final if approval.needed else None
        if final is not None and not (reason or "").strip():
            raise invalid(
                "reason",
                "折扣超出您的权限或低于最低限价，请填写申请理由（将提交上级审批）",
                code=DealError.DISCOUNT_BEYOND_AUTHORITY,
            )
        deal.status = DealStatus.PENDING if final is None else DealStatus.APPROVAL
        deal.save()
        # waiting for the deposit or an approval, the reservation no longer runs out
        units_deal_lapse(project=project, unit_ids=_live_unit_ids(deal), until=None)
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


def apply_discount(*, actor, request: ApprovalRequest, approved: bool) -> None:
    """A decided discount: approved, the subscription waits for the deposit; rejected or
    withdrawn, the deal goes back to its reservation."""
    deal = Deal.objects.select_for_update().get(pk=request.subject_id)
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
        units_deal_lapse(
            project=deal.project, unit_ids=_live_unit_ids(deal), until=deal.reservation_expires_at
        )
    deal.save()
    audit_update(actor=actor, obj=deal, before=before, extra={"approval": request.pk})


def deal_confirm_deposit(*, actor, deal: Deal, **payment) -> Deal:
    """Finance confirms the deposit: only now is the unit 认购 on the board (seed 002
    二.1(1)), and the buyers become 成交 customers. The deposit is the deal's first
    receipt in the payments ledger (``payment``: ``method``, ``paid_on``, ``payer``,
    ``bank_reference``), and its payment schedule is generated."""
    access.require_perm(actor, "deal.confirm", deal.project_id)
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        ensure(rules.can_confirm_deposit(actor, deal))
        before = snapshot(deal)
        units_deal_move(
            actor=actor,
            project=deal.project,
            unit_ids=_live_unit_ids(deal),
            to_status=UnitStatus.SUBSCRIBED,
            expected=(UnitStatus.RESERVED,),
            reason=f"认购 {deal.number}（定金已确认）",
        )
        deal.status = DealStatus.SUBSCRIBED
        deal.deposit_confirmed_at, deal.deposit_confirmed_by = timezone.now(), actor
        deal.save()
        audit_update(actor=actor, obj=deal, before=before, extra={"action": "confirm_deposit"})
        ports.money.deposit_received(actor=actor, deal=deal, **payment)
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
    ensure(rules.can_add_clause(actor, deal))
    if not (text or "").strip():
        raise invalid("text", "请填写条款内容")
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        ensure(rules.can_add_clause(actor, deal))
        clause = SpecialClause.objects.create(deal=deal, text=text.strip())
        audit_create(actor=actor, obj=clause)
        # straight to the director, who alone approves special clauses
        approvals.approval_request(
            actor=actor,
            project=deal.project,
            subject=deal,
            kind=ApprovalKind.CLAUSE,
            payload={"clause": clause.pk, "text": clause.text},
            reason="特殊条款须经销售总监批准",
            level=rules.clause_level(),
            final=rules.clause_level(),
            busy=("该交易已有一条特殊条款在审批中，请等审批后再加。", "text"),
        )
    return clause


def apply_clause(*, actor, request: ApprovalRequest, approved: bool) -> None:
    """A decided special clause: approved, it may be signed; rejected or withdrawn, it is
    kept for the record and never signed."""
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
    ensure(rules.can_contract(actor, deal))
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        ensure(rules.can_contract(actor, deal))
        if (
            deal.clauses.filter(approved=False, rejected=False).exists()
            or deal.approvals.filter(
                kind=ApprovalKind.CLAUSE, status=ApprovalStatus.PENDING
            ).exists()
        ):
            raise conflict(
                "还有特殊条款未经销售总监批准，不能签约。", "clauses", DealError.CLAUSES_PENDING
            )
        if filing_status not in FilingStatus.values:
            raise invalid("filing_status", "网签备案状态无效")
        signed_on = signed_on or timezone.localdate()
        if signed_on > timezone.localdate():
            raise invalid("signed_on", "签约日期不能晚于今天")
        before = snapshot(deal)
        units_deal_move(
            actor=actor,
            project=deal.project,
            unit_ids=_live_unit_ids(deal),
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
            raise invalid(
                "contract_number", "合同编号已被使用", code=DealError.CONTRACT_NUMBER_TAKEN
            ) from exc
        audit_update(actor=actor, obj=deal, before=before, extra={"action": "contract"})
        ports.money.contracted(actor=actor, deal=deal)
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
        ensure(rules.can_update_filing(actor, deal))
        before = snapshot(deal)
        deal.filing_status, deal.filing_number = filing_status, (filing_number or "").strip()
        deal.save()
        audit_update(actor=actor, obj=deal, before=before)
    return deal


def contract_upload_scan(*, actor, deal: Deal, upload) -> Deal:
    """The scanned contract (PDF or image), checked by content and size, stored outside
    the web root and served only to permitted users (seed 004)."""
    from django.core.exceptions import ValidationError

    ensure(rules.can_upload_scan(actor, deal))
    try:
        extension = validate_document(upload)
    except ValidationError as exc:
        raise invalid("contract_scan", exc.messages[0]) from exc
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        ensure(rules.can_upload_scan(actor, deal))
        before = snapshot(deal)
        deal.contract_scan.save(f"{deal.project_id}/{deal.pk}.{extension}", upload, save=False)
        # the first upload is what the scan deadline of seed 004 二(三)1 is measured by
        deal.contract_scanned_at = deal.contract_scanned_at or timezone.now()
        deal.save()
        audit_update(actor=actor, obj=deal, before=before)
    return deal
