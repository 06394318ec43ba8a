"""Changes after subscription (seeds 000, 002 二.3(3)–(4)): exchange 换房, rename 更名 /
co-buyer changes, cancellation 退房 — each requested, approved by the site manager or
above through the one approval engine (``services.approval_submit``), and applied
only when approved (the ``apply_*`` functions that ``apps.py`` registers as kinds).

Nothing is deleted. An exchange ends the old deal as 已换房 and opens a new one that
names it (``exchanged_from``); a cancellation ends the deal as 已退房 with its
``Cancellation`` (reason, deposit treatment, refund, voided documents, dispute); a
rename replaces the buyers. Each applied change writes a ``DealChange`` with the terms
before and after, which the 客户换房、退房一览表 reads."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from loupan.approvals.models import ApprovalRequest
from loupan.approvals.services import withdraw_open
from loupan.audit.services import audit_create, audit_update
from loupan.core import codelists
from loupan.core.errors import DomainError, ErrorCode, conflict, invalid
from loupan.core.money import money
from loupan.core.numbering import next_number
from loupan.core.snapshot import snapshot
from loupan.customers.models import Customer, Stage
from loupan.inventory.models import Unit, UnitStatus
from loupan.inventory.services import units_deal_move

from . import ports, rules
from .errors import DealError
from .models import (
    ApprovalKind,
    Cancellation,
    ChangeKind,
    Deal,
    DealBuyer,
    DealChange,
    DealDiscount,
    DealStatus,
    DealUnit,
    DepositTreatment,
    DisputeStatus,
)
from .rules import (
    CANCEL_FROM,
    EXCHANGE_FROM,
    RENAME_FROM,
    change_level,
    deposit_cap,
    ensure,
    final_level_for,
    policy,
)
from .services import (
    approval_submit,
    buyers_checked,
    buyers_stage,
    deal_end,
    price_units,
    priced_area,
    units_with_attached,
)

UNIT_FROM = (UnitStatus.SUBSCRIBED, UnitStatus.CONTRACTED)


def _start(actor, deal: Deal, predicate) -> Deal:
    """Lock the deal, ask the change's predicate again on the locked row, and check that
    no other change is waiting on it (one open change per deal)."""
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    ensure(predicate(actor, deal))
    ensure(rules.no_change_pending(deal))
    return deal


def _record(*, actor, request: ApprovalRequest, deal: Deal, before, after, new_deal=None):
    """The applied change, of the request's kind (the change kinds are approval kinds)."""
    change = DealChange.objects.create(
        project_id=deal.project_id,
        deal=deal,
        kind=ChangeKind(request.kind),
        new_deal=new_deal,
        request=request,
        before=before,
        after=after,
        at=timezone.now(),
    )
    audit_create(actor=actor, obj=change)
    return change


def _terms(deal: Deal) -> dict:
    """What the lists show of a deal's side of a change."""
    return {
        "deal": deal.pk,
        "number": deal.number,
        "contract_number": deal.contract_number,
        "status": deal.status,
        "unit": deal.unit_id,
        "unit_number": deal.unit.number,
        "area": str(deal.area) if deal.area is not None else "",
        "list_total": str(deal.list_total) if deal.list_total is not None else "",
        "total": str(deal.total) if deal.total is not None else "",
    }


# --- exchange 换房 -----------------------------------------------------------------------


def exchange_request(*, actor, deal: Deal, unit: Unit, reason: str) -> ApprovalRequest:
    """换房: move a subscribed or contracted deal to another available unit. The new
    unit is priced as it is now with the same discounts (seed 000: 其他内容同原定单),
    held (预留) while the request waits, and the price difference is what the buyer pays
    (positive) or gets back (negative). Approved by the site manager or above — higher
    when the new price needs it (beyond the manager's discount authority or below the
    floor price)."""
    ensure(rules.can_exchange(actor, deal))
    with transaction.atomic():
        deal = _start(actor, deal, rules.can_exchange)
        if unit.project_id != deal.project_id:
            raise invalid("unit", "新房间不属于本项目")
        if unit.pk == deal.unit_id:
            raise invalid("unit", "新房间与原房间相同")
        unit = Unit.objects.get(pk=unit.pk)
        if not unit.is_open_for_sale:
            raise conflict(
                f"房间 {unit.number} 当前为「{unit.get_status_display()}」，不能换入。", "unit"
            )
        units = units_with_attached(unit)
        steps = [(d.name, d.kind, d.value) for d in deal.discounts.order_by("sort_order", "pk")]
        q, floor_total = price_units(units, steps)
        cap = deposit_cap(deal.project, q.total)
        if deal.deposit is not None and deal.deposit > cap:
            raise invalid(
                "unit",
                f"定金 {deal.deposit} 元超过新房间成交总价的上限（{cap} 元，民法典第586条）",
                code=DealError.DEPOSIT_OVER_CAP,
            )
        below_floor = floor_total is not None and q.total < floor_total
        final = change_level(final_level_for(deal.project, q.discount_pct, below_floor))
        try:
            units_deal_move(
                actor=actor,
                project=deal.project,
                unit_ids=[u.pk for u in units],
                to_status=UnitStatus.RESERVED,
                expected=(UnitStatus.AVAILABLE,),
                reason=f"换房待审批（{deal.number}）",
            )
        except DomainError as exc:
            if exc.code == ErrorCode.CONFLICT:
                raise conflict(f"房间 {unit.number} 刚被他人预留，请换一套。", "unit") from exc
            raise
        payload = {
            "old": _terms(deal),
            "new": {
                "unit": unit.pk,
                "unit_number": unit.number,
                "unit_ids": [u.pk for u in units],
                "list_prices": [str(u.list_price or 0) for u in units],
                "pricing_basis": unit.pricing_basis,
                "area": str(priced_area(unit) or ""),
                "unit_price": str(unit.unit_price or ""),
                "list_total": str(q.list_total),
                "steps": [
                    [st.name, st.kind, str(st.value), str(st.amount), str(st.total_after)]
                    for st in q.steps
                ],
                "total": str(q.total),
            },
            "difference": str(money(q.total - (deal.total or 0))),
            "discount_pct": str(q.discount_pct),
            "below_floor": below_floor,
        }
        return approval_submit(
            actor=actor,
            deal=deal,
            kind=ApprovalKind.EXCHANGE,
            payload=payload,
            reason=reason,
            final=final,
        )


def apply_exchange(*, actor, request: ApprovalRequest, approved: bool) -> None:
    """A decided exchange: approved, a new deal replaces the old one; rejected or
    withdrawn, the held new unit is released."""
    new = request.payload["new"]
    if not approved:
        units_deal_move(
            actor=actor,
            project=request.project,
            unit_ids=new["unit_ids"],
            to_status=UnitStatus.AVAILABLE,
            expected=(UnitStatus.RESERVED,),
            reason="换房未获批准，释放",
        )
        return
    old = Deal.objects.select_for_update().select_related("unit").get(pk=request.subject_id)
    if old.status not in EXCHANGE_FROM:
        raise conflict(f"交易当前为「{old.get_status_display()}」，不能再换房。")
    project = old.project
    now = timezone.now()
    unit = Unit.objects.get(pk=new["unit"])
    # the floor price never travels in a request (its payload is shown to the
    # requester); the new deal copies it from the units as a subscription does
    _q, floor_total = price_units(list(Unit.objects.filter(pk__in=new["unit_ids"])), [])
    new_deal = Deal.objects.create(
        project=project,
        unit=unit,
        customer=old.customer,
        consultant=old.consultant,
        status=DealStatus.SUBSCRIBED,
        reservation_number=next_number(project, "reservation"),
        reserved_at=now,
        number=next_number(project, "subscription"),
        subscribed_at=now,
        pricing_basis=new["pricing_basis"],
        area=Decimal(new["area"]) if new["area"] else None,
        unit_price=Decimal(new["unit_price"]) if new["unit_price"] else None,
        list_total=Decimal(new["list_total"]),
        floor_total=floor_total,
        discount_amount=money(Decimal(new["list_total"]) - Decimal(new["total"])),
        total=Decimal(new["total"]),
        payment_method=old.payment_method,
        down_payment=old.down_payment
        if old.down_payment is None or old.down_payment <= Decimal(new["total"])
        else None,
        deposit=old.deposit,
        # the deposit paid on the old unit stands for the new one
        deposit_confirmed_at=old.deposit_confirmed_at,
        deposit_confirmed_by=old.deposit_confirmed_by,
        signing_deadline=timezone.localdate()
        + datetime.timedelta(days=policy(project).signing_days),
        exchanged_from=old,
        note=f"由 {old.number}（{old.unit.number}）换房",
        created_by=actor,
    )
    DealUnit.objects.bulk_create(
        DealUnit(deal=new_deal, unit_id=pk, is_main=pk == unit.pk, list_price=Decimal(price))
        for pk, price in zip(new["unit_ids"], new["list_prices"], strict=True)
    )
    DealBuyer.objects.bulk_create(
        DealBuyer(deal=new_deal, customer_id=b.customer_id, share=b.share, sort_order=b.sort_order)
        for b in old.buyers.all()
    )
    DealDiscount.objects.bulk_create(
        DealDiscount(
            deal=new_deal,
            discount_type=d.discount_type,
            name=d.name,
            kind=d.kind,
            value=d.value,
            amount=Decimal(step[3]),
            total_after=Decimal(step[4]),
            sort_order=d.sort_order,
        )
        for d, step in zip(old.discounts.order_by("sort_order", "pk"), new["steps"], strict=True)
    )
    audit_create(actor=actor, obj=new_deal, extra={"exchanged_from": old.number})
    # the new deal takes over what was paid on the old one (the payments ledger)
    ports.money.exchanged(actor=actor, old=old, new=new_deal)
    withdraw_open(old)
    deal_end(
        actor=actor,
        deal=old,
        status=DealStatus.EXCHANGED,
        reason=f"换房至 {unit.number}（{new_deal.number}），原认购书收回"
        + (f"、原合同 {old.contract_number} 作废存档" if old.contract_number else ""),
        unit_from=UNIT_FROM,
    )
    units_deal_move(
        actor=actor,
        project=project,
        unit_ids=new["unit_ids"],
        to_status=UnitStatus.SUBSCRIBED,
        expected=(UnitStatus.RESERVED,),
        reason=f"换房 {old.number} → {new_deal.number}",
    )
    _record(
        actor=actor,
        request=request,
        deal=old,
        before=request.payload["old"],
        after={**_terms(new_deal), "difference": request.payload["difference"]},
        new_deal=new_deal,
    )


# --- rename 更名 / co-buyers -------------------------------------------------------------


def _buyer_rows(deal: Deal) -> list[dict]:
    return [
        {"customer": b.customer_id, "name": b.customer.name, "share": str(b.share)}
        for b in deal.buyers.select_related("customer").order_by("sort_order", "pk")
    ]


def rename_request(*, actor, deal: Deal, buyers, reason: str) -> ApprovalRequest:
    """更名 and co-buyer changes: the new buyers and shares (summing to 100%, each a
    customer of the project), approved by the site manager or above — a consultant can
    never do it alone (seed 002 万科 1(4))."""
    ensure(rules.can_rename(actor, deal))
    rows = buyers_checked(actor, deal, buyers)
    with transaction.atomic():
        deal = _start(actor, deal, rules.can_rename)
        before = _buyer_rows(deal)
        after = [{"customer": c.pk, "name": c.name, "share": str(share)} for c, share in rows]
        if [(r["customer"], r["share"]) for r in before] == [
            (r["customer"], r["share"]) for r in after
        ]:
            raise invalid("buyers", "买受人和产权份额没有变化")
        return approval_submit(
            actor=actor,
            deal=deal,
            kind=ApprovalKind.RENAME,
            payload={"before": before, "after": after},
            reason=reason,
            final=change_level(),
        )


def apply_rename(*, actor, request: ApprovalRequest, approved: bool) -> None:
    """A decided rename: approved, the buyers and shares are replaced."""
    if not approved:
        return
    deal = Deal.objects.select_for_update().get(pk=request.subject_id)
    if deal.status not in RENAME_FROM:
        raise conflict(f"交易当前为「{deal.get_status_display()}」，不能更名。")
    after = request.payload["after"]
    customers = Customer.objects.filter(
        project_id=deal.project_id,
        anonymized_at__isnull=True,
        pk__in=[r["customer"] for r in after],
    ).in_bulk()
    if len(customers) != len(after):
        raise invalid("buyers", "有买受人已不是本项目的客户，请重新申请")
    before = snapshot(deal)
    deal.buyers.all().delete()
    DealBuyer.objects.bulk_create(
        DealBuyer(
            deal=deal, customer=customers[r["customer"]], share=Decimal(r["share"]), sort_order=i
        )
        for i, r in enumerate(after)
    )
    if deal.customer_id not in customers:
        deal.customer = customers[after[0]["customer"]]
    deal.save()
    audit_update(
        actor=actor,
        obj=deal,
        before=before,
        extra={"action": "rename", "buyers": [r["name"] for r in after]},
    )
    if deal.status != DealStatus.PENDING:
        buyers_stage(actor, deal, customers)
    _record(
        actor=actor,
        request=request,
        deal=deal,
        before={**_terms(deal), "buyers": request.payload["before"]},
        after={**_terms(deal), "buyers": after},
    )


# --- cancellation 退房 -------------------------------------------------------------------


def received_of(deal: Deal) -> Decimal:
    """What the buyer has really paid on the deal so far, as the payments ledger holds
    it (``ports.money``)."""
    return ports.money.received_of(deal)


def cancel_terms(deal: Deal, treatment: str, forfeited=None) -> dict:
    """The money of a cancellation under 民法典 587: the deposit refunded in full, part
    of it kept, all of it kept (the buyer does not perform), or returned twice (the
    seller does not perform). The refund is what was received, less what is kept, plus
    the second deposit when the seller is at fault."""
    if treatment not in DepositTreatment.values:
        raise invalid("deposit_treatment", "请选择定金处理方式")
    received = received_of(deal)
    deposit = min(money(deal.deposit or 0), received)
    compensation = Decimal("0.00")
    if treatment == DepositTreatment.REFUND:
        kept = Decimal("0.00")
    elif treatment == DepositTreatment.FORFEIT:
        kept = deposit
    elif treatment == DepositTreatment.DOUBLE:
        kept, compensation = Decimal("0.00"), deposit
    else:
        if forfeited in (None, ""):
            raise invalid("forfeited", "请填写扣除的定金金额")
        try:
            kept = money(forfeited)
        except (TypeError, ValueError) as exc:
            raise invalid("forfeited", "扣除金额必须是数字") from exc
        if kept <= 0 or kept >= deposit:
            raise invalid("forfeited", f"扣除金额须大于 0 且小于已收定金 {deposit} 元")
    return {
        "received": str(received),
        "forfeited": str(kept),
        "compensation": str(compensation),
        "refund": str(money(received - kept + compensation)),
    }


def cancel_request(
    *,
    actor,
    deal: Deal,
    cancel_reason: str,
    detail: str,
    deposit_treatment: str,
    forfeited=None,
    originals_returned: bool = False,
) -> ApprovalRequest:
    """退房: the reason from the list and in words, what happens to the deposit and the
    refund that follows, whether the originals are back. Approved by the site manager
    or above (seed 000); only then does the unit become available again."""
    ensure(rules.can_cancel(actor, deal))
    if not cancel_reason:
        raise invalid("cancel_reason", "请选择退房原因")
    cancel_reason = codelists.check(
        "cancel_reason", deal.project_id, cancel_reason, "cancel_reason", blank=False
    )
    detail = (detail or "").strip()
    if not detail:
        raise invalid("detail", "请填写退房原因说明")
    with transaction.atomic():
        deal = _start(actor, deal, rules.can_cancel)
        terms = cancel_terms(deal, deposit_treatment, forfeited)
        payload = {
            "old": _terms(deal),
            "reason": cancel_reason,
            "reason_label": codelists.label_of("cancel_reason", deal.project_id, cancel_reason),
            "detail": detail,
            "deposit_treatment": deposit_treatment,
            "originals_returned": bool(originals_returned),
            **terms,
        }
        return approval_submit(
            actor=actor,
            deal=deal,
            kind=ApprovalKind.CANCEL,
            payload=payload,
            reason=detail,
            final=change_level(),
        )


def _voided(deal: Deal) -> str:
    docs = [f"认购书 {deal.number}"] if deal.number else []
    if deal.contract_number:
        docs.append(f"合同 {deal.contract_number}")
    return "；".join(docs)


def apply_cancel(*, actor, request: ApprovalRequest, approved: bool) -> None:
    """A decided cancellation: approved, the deal ends as 已退房 with its record."""
    if not approved:
        return
    deal = Deal.objects.select_for_update().get(pk=request.subject_id)
    if deal.status not in CANCEL_FROM:
        raise conflict(f"交易当前为「{deal.get_status_display()}」，不能退房。")
    p = request.payload
    now = timezone.now()
    cancellation = Cancellation.objects.create(
        deal=deal,
        reason=p["reason"],
        detail=p["detail"],
        deposit_treatment=p["deposit_treatment"],
        received=Decimal(p["received"]),
        forfeited=Decimal(p["forfeited"]),
        compensation=Decimal(p["compensation"]),
        refund=Decimal(p["refund"]),
        voided_documents=_voided(deal),
        originals_returned=p["originals_returned"],
        cancelled_at=now,
    )
    audit_create(actor=actor, obj=cancellation)
    withdraw_open(deal)
    deal_end(
        actor=actor,
        deal=deal,
        status=DealStatus.CANCELLED,
        reason=f"退房：{p['reason_label']}（{p['detail']}）；作废 {cancellation.voided_documents}",
        unit_from=UNIT_FROM,
    )
    # buyers with no other deal go back to 意向
    buyer_ids = {deal.customer_id, *deal.buyers.values_list("customer_id", flat=True)}
    still = set(
        DealBuyer.objects.filter(
            customer_id__in=buyer_ids,
            deal__status__in=(DealStatus.SUBSCRIBED, DealStatus.CONTRACTED),
        ).values_list("customer_id", flat=True)
    )
    gone = Customer.objects.filter(pk__in=buyer_ids - still, stage=Stage.DEAL)
    buyers_stage(actor, deal, gone.values_list("pk", flat=True), Stage.INTENT)
    _record(
        actor=actor,
        request=request,
        deal=deal,
        before=p["old"],
        after={
            "status": DealStatus.CANCELLED,
            "reason": p["reason"],
            "received": p["received"],
            "forfeited": p["forfeited"],
            "compensation": p["compensation"],
            "refund": p["refund"],
        },
    )


def cancellation_dispute(*, actor, deal: Deal, dispute: str, note: str = "") -> Cancellation:
    """Mark a cancellation's dispute: negotiating, 仲裁, 诉讼, closed (seed 000: 若有争议
    无法解决时，可提请仲裁机构调解或人民法院裁决). The sales admin or a lead."""
    ensure(rules.can_mark_dispute(actor, deal))
    if dispute not in DisputeStatus.values:
        raise invalid("dispute", "争议状态无效")
    note = (note or "").strip()
    if dispute != DisputeStatus.NONE and not note:
        raise invalid("dispute_note", "请填写争议说明（机构、案号或进展）")
    with transaction.atomic():
        cancellation = Cancellation.objects.select_for_update().get(deal=deal)
        before = snapshot(cancellation)
        cancellation.dispute, cancellation.dispute_note = dispute, note
        cancellation.save()
        audit_update(actor=actor, obj=cancellation, before=before)
    return cancellation


def cancellation_refund_paid(*, actor, deal: Deal, **payment) -> Cancellation:
    """Finance pays the refund out: one refund entry of the payments ledger
    (``payment``: ``method``, ``paid_on``, ``bank_reference``)."""
    ensure(rules.can_mark_refund_paid(actor, deal))
    with transaction.atomic():
        cancellation = Cancellation.objects.select_for_update().filter(deal=deal).first()
        ensure(rules.can_mark_refund_paid(actor, deal, cancellation))
        before = snapshot(cancellation)
        ports.money.refund_paid(actor=actor, deal=deal, amount=cancellation.refund, **payment)
        cancellation.refund_paid_at, cancellation.refund_paid_by = timezone.now(), actor
        cancellation.save()
        audit_update(actor=actor, obj=cancellation, before=before)
    return cancellation
