"""Money held for a customer before there is a deal: the sincerity deposit 诚意金 of an
opening's registration 认筹 (issue 16: "recorded through the Payments ledger and
refundable in full; … the sincerity deposit turns into the deposit; … refunds of
sincerity deposits through the ledger").

It lives in the one ledger: purpose ``sincerity``, no deal, the ``customer`` and the
``reference`` it is held for (e.g. "认筹 一期开盘 0007"). What is still held is always
summed from the ledger (``sincerity_held``), never stored. It leaves in one of two ways:
refunded in full (``sincerity_refund``), or carried into the deal the customer's pick
became (``sincerity_to_deposit``: a pair of carry entries, out of the sincerity and into
the deal as its deposit). Per-deal sums (``received_of``, the schedule, ``with_money``)
read entries with a deal only, so held money never counts for a deal until it is carried
in; the day sheet counts the money received and refunded (real cash), not the carries.

No money of any kind is taken before a presale permit exists (商品房销售管理办法 Art. 22):
the project must have one; that the event's units are covered by it is checked by the
opening when the event asks for a sincerity deposit.

Every function writes in one transaction with its audit entry, after
``lock_project_money`` (as recording a payment does: a day's sheet never misses one).
"""

import datetime
import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from loupan.audit.services import audit_create
from loupan.core.errors import DomainError, conflict, invalid
from loupan.core.numbering import next_number
from loupan.customers.models import Customer
from loupan.deals.models import LIVE_STATUSES, Deal, DealStatus
from loupan.inventory.models import PresalePermit

from . import rules
from .errors import PaymentError
from .models import RECEIVED_METHODS, EntryKind, LedgerEntry, Method, Purpose, Receipt
from .schedule import live_items
from .services import (
    _amount,
    _date,
    _insert,
    _method,
    _next_serial,
    carried_deposit,
    carried_to_schedule,
    day_open,
    held_for,
    lock_project_money,
    payer_of,
)

log = logging.getLogger(__name__)

# A sincerity deposit is the buyer's own money: never a bank's loan.
SINCERITY_METHODS = [m for m in RECEIVED_METHODS if m != Method.MORTGAGE]
# A deal whose deposit was never confirmed may give carried sincerity back (a reservation
# that lapsed or was released): money is never stuck on a deal that cannot refund it.
NOT_CONFIRMED = (
    DealStatus.RESERVED,
    DealStatus.APPROVAL,
    DealStatus.PENDING,
    DealStatus.EXPIRED,
    DealStatus.RELEASED,
)
# ... and of those, the ones that ended: their carried sincerity goes back by itself
ENDED_UNCONFIRMED = (DealStatus.EXPIRED, DealStatus.RELEASED)


def _reference(value) -> str:
    reference = (value or "").strip()
    if not reference:
        raise invalid("reference", "请填写诚意金的用途（如认筹号）")
    if len(reference) > 40:
        raise invalid("reference", "用途不能超过 40 个字")
    return reference


def _customer(customer, project_id) -> Customer:
    found = Customer.objects.filter(pk=getattr(customer, "pk", customer)).first()
    if found is None or found.project_id != project_id:
        raise invalid("customer", "客户不属于该项目")
    return found


# --- reads ------------------------------------------------------------------------------------


def sincerity_held(customer, reference: str) -> Decimal:
    """What the ledger still holds for ``customer`` under ``reference``: the sincerity
    received, less what was refunded, carried into a deal or reversed (0 when none)."""
    return held_for(getattr(customer, "pk", customer), (reference or "").strip())


# --- actions ----------------------------------------------------------------------------------


def sincerity_receive(
    *,
    actor,
    project,
    customer,
    amount,
    method: str,
    reference: str,
    paid_on: datetime.date | str | None = None,
    payer: str = "",
    bank_reference: str = "",
) -> LedgerEntry:
    """Finance receives a sincerity deposit 诚意金 for a customer and issues its receipt
    (the project's next gapless ``SJ-`` number and the cashier's next form serial, as
    for any receipt): one positive entry, purpose ``sincerity``, no deal."""
    rules.ensure(rules.can_hold_sincerity(actor, project))
    amount = _amount(amount)
    method = _method(method, SINCERITY_METHODS)
    paid_on = _date(paid_on, "paid_on")
    reference = _reference(reference)
    bank_reference = (bank_reference or "").strip()
    if method in (Method.TRANSFER, Method.POS) and not bank_reference:
        raise invalid("bank_reference", "转账和刷卡须填写银行流水号")
    if not PresalePermit.objects.filter(project_id=project.pk).exists():
        raise conflict(
            "项目尚未取得预售许可证，不能收取任何款项（含诚意金）。",
            "project",
            PaymentError.NO_PRESALE_PERMIT,
        )
    with transaction.atomic():
        lock_project_money(project.pk)
        customer = _customer(customer, project.pk)
        day_open(project.pk, paid_on)
        payer = (payer or "").strip()[:100] or customer.name
        book, serial = _next_serial(actor, project.pk)
        receipt = Receipt.objects.create(
            project_id=project.pk,
            customer=customer,
            reference=reference,
            number=next_number(project, "receipt"),
            amount=amount,
            method=method,
            paid_on=paid_on,
            payer=payer,
            book=book,
            form_serial=serial,
            cashier=actor,
            issued_at=timezone.now(),
        )
        (entry,) = _insert(
            [
                LedgerEntry(
                    project_id=project.pk,
                    customer=customer,
                    reference=reference,
                    kind=EntryKind.RECEIPT,
                    purpose=Purpose.SINCERITY,
                    method=method,
                    amount=amount,
                    paid_on=paid_on,
                    payer=payer,
                    bank_reference=bank_reference,
                    receipt=receipt,
                    reason=f"诚意金 {reference}"[:200],
                    created_by=actor,
                )
            ]
        )
        audit_create(
            actor=actor,
            obj=receipt,
            extra={"customer": customer.pk, "reference": reference, "sincerity": str(amount)},
        )
    return entry


def sincerity_refund(
    *,
    actor,
    customer,
    reference: str,
    method: str,
    paid_on: datetime.date | str | None = None,
    bank_reference: str = "",
) -> LedgerEntry:
    """Finance refunds in full what is held for the customer under ``reference`` (退筹,
    or not picked at the event): one negative refund entry. Refused with
    ``nothing_held`` when nothing is held (already refunded or carried into a deal)."""
    project_id = customer.project_id
    rules.ensure(rules.can_hold_sincerity(actor, project_id))
    method = _method(method, SINCERITY_METHODS)
    paid_on = _date(paid_on, "paid_on")
    reference = _reference(reference)
    with transaction.atomic():
        lock_project_money(project_id)
        customer = _customer(customer, project_id)
        held = sincerity_held(customer, reference)
        if held <= 0:
            raise conflict(
                f"客户「{customer.name}」在「{reference}」下没有暂收的诚意金。",
                "reference",
                PaymentError.NOTHING_HELD,
            )
        day_open(project_id, paid_on)
        (entry,) = _insert(
            [
                LedgerEntry(
                    project_id=project_id,
                    customer=customer,
                    reference=reference,
                    kind=EntryKind.REFUND,
                    purpose=Purpose.SINCERITY,
                    method=method,
                    amount=-held,
                    paid_on=paid_on,
                    payer=customer.name,
                    bank_reference=(bank_reference or "").strip()[:60],
                    reason=f"退还诚意金 {reference}"[:200],
                    created_by=actor,
                )
            ]
        )
        audit_create(
            actor=actor,
            obj=entry,
            extra={"customer": customer.pk, "reference": reference, "refund": str(held)},
        )
    return entry


def sincerity_to_deposit(
    *, actor, customer, reference: str, deal: Deal
) -> tuple[LedgerEntry, LedgerEntry] | None:
    """What is held for the customer under ``reference`` becomes the deposit of the deal
    their pick became: a pair of carry entries dated today, out of the sincerity (−, no
    deal) and into the deal (+, purpose ``deposit``, ``counterpart`` the first), so the
    deal's ``received_of`` includes it. A deal with a schedule has the money placed on
    it at once; otherwise it is placed when finance confirms the deposit, which then
    receipts only the rest (``services.deposit_received``). None when nothing is held.

    The customer must be the deal's customer or one of its buyers, and the deal live."""
    rules.ensure(rules.can_hold_sincerity(actor, deal.project_id))
    reference = _reference(reference)
    with transaction.atomic():
        lock_project_money(deal.project_id)
        deal = Deal.objects.select_for_update().select_related("project").get(pk=deal.pk)
        customer = _customer(customer, deal.project_id)
        if deal.status not in LIVE_STATUSES:
            raise conflict(f"交易当前为「{deal.get_status_display()}」，不能转入定金。", "deal")
        if deal.customer_id != customer.pk and not deal.buyers.filter(customer=customer).exists():
            raise invalid("customer", "该客户不是这笔交易的买受人")
        held = sincerity_held(customer, reference)
        if held <= 0:
            return None
        today = timezone.localdate()
        day_open(deal.project_id, today)
        common = {
            "project_id": deal.project_id,
            "customer": customer,
            "reference": reference,
            "kind": EntryKind.CARRY,
            "method": Method.CARRY,
            "paid_on": today,
            "created_by": actor,
        }
        (out,) = _insert(
            [
                LedgerEntry(
                    purpose=Purpose.SINCERITY,
                    amount=-held,
                    payer=customer.name,
                    reason=f"诚意金转定金：{deal.number}"[:200],
                    **common,
                )
            ]
        )
        (into,) = _insert(
            [
                LedgerEntry(
                    deal=deal,
                    purpose=Purpose.DEPOSIT,
                    amount=held,
                    payer=payer_of(deal) or customer.name,
                    counterpart=out,
                    reason=f"由诚意金转入（{reference}）"[:200],
                    **common,
                )
            ]
        )
        audit_create(
            actor=actor,
            obj=out,
            extra={
                "customer": customer.pk,
                "reference": reference,
                "deal": deal.number,
                "amount": str(held),
            },
        )
        items = list(live_items(deal))
        if items:
            carried_to_schedule(actor=actor, deal=deal, items=items, paid_on=today)
    return out, into


def sincerity_return(*, actor, deal: Deal) -> list[tuple[LedgerEntry, LedgerEntry]]:
    """A deal whose deposit was never confirmed (a reservation that lapsed or was
    released, a subscription withdrawn) gives the sincerity carried into it back to the
    customers it came from, under the same references, where ``sincerity_refund`` can
    refund it: per customer and reference a pair of carry entries (out of the deal,
    into the customer's sincerity). Nothing when nothing was carried in."""
    rules.ensure(rules.can_hold_sincerity(actor, deal.project_id))
    return _return(actor=actor, deal=deal)


def deals_to_return(*, deal_ids=None):
    """Deals that ended before their deposit was confirmed (a reservation that lapsed,
    one withdrawn) and still hold sincerity carried into them: one grouped query."""
    carried = (
        LedgerEntry.objects.filter(
            kind=EntryKind.CARRY,
            purpose=Purpose.DEPOSIT,
            item__isnull=True,
            deal__status__in=ENDED_UNCONFIRMED,
        )
        .values("deal_id")
        .annotate(s=Sum("amount"))
        .filter(s__gt=0)
        .order_by()
    )
    if deal_ids is not None:
        carried = carried.filter(deal_id__in=list(deal_ids))
    return Deal.objects.filter(pk__in=[row["deal_id"] for row in carried]).order_by("pk")


def sincerity_return_due(*, now=None) -> dict:
    """Due job (``loupan run-due``, after the deals' expiry): every deal that ended
    unconfirmed gives the sincerity carried into it back to its customers, refundable
    again (``sincerity_return``, by the system: no actor)."""
    count = 0
    for deal in deals_to_return():
        try:
            if _return(actor=None, deal=deal):
                count += 1
        except DomainError as exc:  # e.g. today's money is closed: the next run retries
            log.warning("sincerity of deal %s not returned: %s", deal.pk, exc.message)
    return {"sincerity_returned": count}


def _return(*, actor, deal: Deal) -> list[tuple[LedgerEntry, LedgerEntry]]:
    """``sincerity_return`` without the permission check: by finance (``actor``), or by
    the due job (no actor: the entries are then in the name of whoever carried the money
    in, the ledger's ``created_by``, and the audit entry is the system's)."""
    with transaction.atomic():
        lock_project_money(deal.project_id)
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        if deal.status not in NOT_CONFIRMED:
            raise conflict(
                f"交易当前为「{deal.get_status_display()}」，定金已确认，款项随交易处理。", "deal"
            )
        groups = carried_deposit(deal)
        if not groups:
            return []
        today = timezone.localdate()
        day_open(deal.project_id, today)
        by = actor or (
            LedgerEntry.objects.filter(deal=deal, kind=EntryKind.CARRY, purpose=Purpose.DEPOSIT)
            .order_by("pk")
            .first()
            .created_by
        )
        pairs = []
        for customer_id, reference, held in groups:
            common = {
                "project_id": deal.project_id,
                "customer_id": customer_id,
                "reference": reference,
                "kind": EntryKind.CARRY,
                "method": Method.CARRY,
                "paid_on": today,
                "payer": payer_of(deal),
                "created_by": by,
            }
            (out,) = _insert(
                [
                    LedgerEntry(
                        deal=deal,
                        purpose=Purpose.DEPOSIT,
                        amount=-held,
                        reason=f"交易 {deal.number} 未成立，诚意金退回暂收"[:200],
                        **common,
                    )
                ]
            )
            (back,) = _insert(
                [
                    LedgerEntry(
                        purpose=Purpose.SINCERITY,
                        amount=held,
                        counterpart=out,
                        reason=f"由 {deal.number} 退回诚意金"[:200],
                        **common,
                    )
                ]
            )
            pairs.append((out, back))
        audit_create(
            actor=actor,
            obj=pairs[0][0],
            extra={
                "deal": deal.number,
                "returned": [[c, r, str(h)] for c, r, h in groups],
            },
        )
    return pairs
