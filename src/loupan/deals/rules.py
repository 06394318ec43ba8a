"""The deal policy, written once: the approval chain and each role's discount authority,
who must finally approve a price, the deposit cap (民法典 586), and the predicates
``can_<action>(user, deal) -> (bool, reason)`` that the services call before acting and
that pages, templates and the API ask instead of restating a rule.

Seeds: 002 万科 1(5) (no discount over the superior's head, consultants never alone);
000 (exchange and cancellation approved by a site manager or higher); 民法典 586 (the
deposit at most 20% of the price).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loupan.accounts import access
from loupan.approvals.kinds import kind_of
from loupan.approvals.models import ApprovalStatus
from loupan.core.errors import DomainError, conflict
from loupan.core.money import money

from . import documents
from .errors import DealError
from .models import ApprovalKind, DealPolicy, DealStatus, DiscountAuthority


def policy(project) -> DealPolicy:
    """The project's deal settings (reservation hours, deposit cap, signing days)."""
    found = DealPolicy.objects.filter(project_id=project.pk).first()
    return found or DealPolicy(project_id=project.pk)


# --- the approval chain -----------------------------------------------------------------


def chain() -> list[str]:
    """The role codes that approve a deal, lowest first (``LOUPAN_APPROVAL_CHAIN``)."""
    return list(settings.LOUPAN_APPROVAL_CHAIN)


def authority(project, role_code: str) -> Decimal:
    """The total discount (%) a role may grant on its own in the project."""
    row = DiscountAuthority.objects.filter(project_id=project.pk, role__code=role_code).first()
    if row is not None:
        return row.max_pct
    return Decimal(str(settings.LOUPAN_DISCOUNT_AUTHORITY.get(role_code, 0)))


def level_of(user, project) -> int:
    """The user's highest position in the chain on the project (-1: not in it), as the
    approval engine places a requester."""
    return kind_of(ApprovalKind.DISCOUNT).level_of(user, project)


def final_level_for(project, pct: Decimal, below_floor: bool) -> str:
    """The lowest role whose authority covers ``pct``; the top of the chain when the
    price is below the floor price or beyond everyone's authority."""
    if not below_floor:
        for code in chain():
            if pct <= authority(project, code):
                return code
    return chain()[-1]


def change_level(*others: str) -> str:
    """Who approves a change after subscription: the site manager
    (``LOUPAN_CHANGE_APPROVER``) or a higher level another rule asks for (an exchanged
    price beyond the manager's discount authority)."""
    levels = chain()
    return max([settings.LOUPAN_CHANGE_APPROVER, *others], key=levels.index)


def clause_level() -> str:
    """Special clauses are for the sales director (the top of the chain, seed 001)."""
    return chain()[-1]


@dataclass(frozen=True)
class Approval:
    """Whether a price needs approval, and up to whom."""

    final: str
    needed: bool


def price_approval(user, project, pct: Decimal, below_floor: bool) -> Approval:
    """A discount of ``pct`` (or a price below the floor) granted by ``user``: within
    their authority it needs nobody; beyond it, ``final`` must approve."""
    final = final_level_for(project, pct, below_floor)
    return Approval(final=final, needed=level_of(user, project) < chain().index(final))


# --- the deposit cap (民法典 586) --------------------------------------------------------


def deposit_cap(project, total) -> Decimal:
    """The largest deposit for a deal of ``total``: the project's cap (20% by law)."""
    return money(total * policy(project).deposit_max_pct / 100)


# --- predicates -------------------------------------------------------------------------
# ``can_<action>(user, deal) -> (allowed, refusal)``: the refusal is the domain error the
# service raises (403 for a missing permission, 409 for a deal in the wrong state), so a
# page or the API shows or hides the action by the same rule, and ``ensure`` raises it.

Answer = tuple[bool, DomainError | None]
YES: Answer = (True, None)

OPEN_UNCONFIRMED = (DealStatus.RESERVED, DealStatus.APPROVAL, DealStatus.PENDING)
EXCHANGE_FROM = (DealStatus.SUBSCRIBED, DealStatus.CONTRACTED)
RENAME_FROM = (DealStatus.PENDING, DealStatus.SUBSCRIBED, DealStatus.CONTRACTED)
CANCEL_FROM = (DealStatus.SUBSCRIBED, DealStatus.CONTRACTED)
CLAUSE_FROM = (DealStatus.PENDING, DealStatus.SUBSCRIBED)
# The changes after subscription: one at a time per deal, and nothing is signed or added
# to the contract while one waits for approval.
CHANGE_KINDS = (ApprovalKind.EXCHANGE, ApprovalKind.RENAME, ApprovalKind.CANCEL)
_UNKNOWN = object()


def pending_change(deal):
    """The change request (exchange, rename, cancellation) waiting on the deal, if any."""
    return deal.approvals.filter(kind__in=CHANGE_KINDS, status=ApprovalStatus.PENDING).first()


def no_change_pending(deal) -> Answer:
    """One change at a time per deal (exchange, rename, cancellation)."""
    return _no_change_pending(YES, deal, _UNKNOWN)


def _no_change_pending(answer: Answer, deal, pending) -> Answer:
    """``answer``, unless a change waits for approval on the deal (then 409
    ``change_pending``, naming it)."""
    if not answer[0]:
        return answer
    waiting = pending_change(deal) if pending is _UNKNOWN else pending
    if waiting is None:
        return answer
    return False, conflict(
        f"该交易的{waiting.get_kind_display()}申请正在审批，请等审批结束或撤回后再办理。",
        code=DealError.CHANGE_PENDING,
    )


def ensure(answer: Answer) -> None:
    """Raise the refusal of a predicate's answer."""
    allowed, refusal = answer
    if not allowed:
        raise refusal


def own_or(user, deal, code: str) -> bool:
    """The deal's own consultant (who may add deals there), or a role holding ``code``
    (consultants act on their own deals only; leads, the office and finance on all)."""
    return (
        deal.consultant_id == user.pk and access.has_perm(user, "deal.add", deal.project_id)
    ) or access.has_perm(user, code, deal.project_id)


def _check(permitted: bool, code: str, in_state: bool, message) -> Answer:
    if not permitted:
        return False, access.permission_error(code)
    if not in_state:
        return False, conflict(message)
    return YES


def _now(deal) -> str:
    return deal.get_status_display()


def can_subscribe(user, deal) -> Answer:
    return _check(
        own_or(user, deal, "deal.approve"),
        "deal.approve",
        deal.status == DealStatus.RESERVED,
        f"交易当前为「{_now(deal)}」，不能认购。",
    )


def can_release(user, deal) -> Answer:
    return _check(
        own_or(user, deal, "deal.approve"),
        "deal.approve",
        deal.status in OPEN_UNCONFIRMED,
        "只有未确认定金的交易可以撤销；已认购的交易请走退房流程。",
    )


def can_confirm_deposit(user, deal) -> Answer:
    return _check(
        access.has_perm(user, "deal.confirm", deal.project_id),
        "deal.confirm",
        deal.status == DealStatus.PENDING,
        f"交易当前为「{_now(deal)}」，没有待确认的定金。",
    )


def can_add_clause(user, deal, pending=_UNKNOWN) -> Answer:
    """``pending``: the waiting change request when the caller knows it already."""
    answer = _check(
        own_or(user, deal, "deal.contract"),
        "deal.contract",
        deal.status in CLAUSE_FROM,
        "只能在签约前为认购的交易增加特殊条款。",
    )
    return _no_change_pending(answer, deal, pending)


def can_contract(user, deal, pending=_UNKNOWN) -> Answer:
    """Not while an exchange, rename or cancellation waits for approval, and only once
    finance approved the contract as it is now (计财部审核, seed 001 签约管理 2;
    ``contracts.reviewed``)."""
    answer = _check(
        own_or(user, deal, "deal.contract"),
        "deal.contract",
        deal.status == DealStatus.SUBSCRIBED,
        f"交易当前为「{_now(deal)}」，认购（定金已确认）后才能签约。",
    )
    answer = _no_change_pending(answer, deal, pending)
    return documents.reviewed(deal) if answer[0] else answer


def can_update_filing(user, deal) -> Answer:
    return _check(
        access.has_perm(user, "deal.contract", deal.project_id),
        "deal.contract",
        deal.status == DealStatus.CONTRACTED,
        "只有已签约的交易有网签备案。",
    )


def can_upload_scan(user, deal) -> Answer:
    return _check(
        own_or(user, deal, "deal.contract"),
        "deal.contract",
        deal.status == DealStatus.CONTRACTED,
        "签约后才能上传合同扫描件。",
    )


def can_see_scan(user, deal) -> bool:
    """The contract scan: the deal's consultant and the office (contract, approve)."""
    return own_or(user, deal, "deal.contract") or access.has_perm(
        user, "deal.approve", deal.project_id
    )


def _can_change(user, deal, allowed: tuple, what: str) -> Answer:
    states = "、".join(str(DealStatus(s).label) for s in allowed)
    return _check(
        own_or(user, deal, "deal.approve"),
        "deal.approve",
        deal.status in allowed,
        f"交易当前为「{_now(deal)}」，只有{states}的交易可以{what}。",
    )


def can_exchange(user, deal) -> Answer:
    return _can_change(user, deal, EXCHANGE_FROM, "换房")


def can_rename(user, deal) -> Answer:
    return _can_change(user, deal, RENAME_FROM, "更名")


def can_cancel(user, deal) -> Answer:
    return _can_change(user, deal, CANCEL_FROM, "退房")


def can_mark_dispute(user, deal) -> Answer:
    """The sales admin (contract) or a lead marks a cancellation's dispute."""
    cancellation = getattr(deal, "cancellation", None)
    return _check(
        access.has_perm(user, "deal.contract", deal.project_id)
        or access.has_perm(user, "deal.approve", deal.project_id),
        "deal.approve",
        cancellation is not None,
        "该交易没有退房记录。",
    )


def refund_due_q(prefix: str = "") -> Q:
    """Cancellations whose refund finance has still to pay (the queryset form of the
    condition of ``can_mark_refund_paid``)."""
    return Q(**{f"{prefix}refund_paid_at__isnull": True, f"{prefix}refund__gt": 0})


def can_mark_refund_paid(user, deal, cancellation=None) -> Answer:
    """Finance records a cancellation's refund as paid, once (``cancellation``: the row
    as the service locked it; else the deal's)."""
    cancellation = cancellation or getattr(deal, "cancellation", None)
    if cancellation is not None and cancellation.refund_paid_at is not None:
        message = "退款已登记为已付。"
    elif cancellation is None:
        message = "该交易没有退房记录。"
    else:
        message = "没有待支付的退款。"
    return _check(
        access.has_perm(user, "deal.confirm", deal.project_id),
        "deal.confirm",
        cancellation is not None
        and cancellation.refund_paid_at is None
        and cancellation.refund > 0,
        message,
    )


# --- the contract's documents (contracts.py) -------------------------------------------

PRINTABLE = (DealStatus.SUBSCRIBED, DealStatus.CONTRACTED)


def can_print(user, deal) -> Answer:
    """The contract desk and the deal's consultant prepare it; finance reads what it
    reviews; leads too. Only once subscribed (the terms are set)."""
    permitted = (
        own_or(user, deal, "deal.contract")
        or access.has_perm(user, "contract.review", deal.project_id)
        or access.has_perm(user, "deal.approve", deal.project_id)
    )
    return _check(
        permitted,
        "deal.contract",
        deal.status in PRINTABLE,
        _("交易当前为「%(s)s」，认购后才能打印合同。") % {"s": deal.get_status_display()},
    )


def can_submit_review(user, deal) -> Answer:
    """The contract desk (or the deal's consultant) submits the drafted contract to
    finance once subscribed, while nothing waits: a change, a special clause, or a
    review already."""
    answer = _check(
        own_or(user, deal, "deal.contract"),
        "deal.contract",
        deal.status == DealStatus.SUBSCRIBED,
        _("交易当前为「%(s)s」，认购后、签约前才能提交计财部审核。")
        % {"s": deal.get_status_display()},
    )
    return no_change_pending(deal) if answer[0] else answer


SUPPLEMENT_FROM = (DealStatus.SUBSCRIBED, DealStatus.CONTRACTED)


def can_add_supplement(user, deal) -> Answer:
    return _check(
        own_or(user, deal, "deal.contract"),
        "deal.contract",
        deal.status in SUPPLEMENT_FROM,
        _("交易当前为「%(s)s」，只有认购或签约的交易可以增加补充协议。")
        % {"s": deal.get_status_display()},
    )


def can_see_documents(user, deal) -> bool:
    """The contract's papers (scan, supplements): as the contract scan."""
    return can_see_scan(user, deal) or access.has_perm(user, "contract.review", deal.project_id)


def abilities(user, deal) -> dict:
    """Every action's answer for this user on this deal, for the page and the API (the
    waiting change, if any, read once)."""
    pending = pending_change(deal) if deal.status in CLAUSE_FROM else None
    return {
        "subscribe": can_subscribe(user, deal)[0],
        "release": can_release(user, deal)[0],
        "confirm": can_confirm_deposit(user, deal)[0],
        "clause": can_add_clause(user, deal, pending)[0],
        "contract": can_contract(user, deal, pending)[0],
        "filing": can_update_filing(user, deal)[0],
        "upload": can_upload_scan(user, deal)[0],
        "scan": bool(deal.contract_scan) and can_see_scan(user, deal),
        "exchange": can_exchange(user, deal)[0],
        "rename": can_rename(user, deal)[0],
        "cancel": can_cancel(user, deal)[0],
        "dispute": can_mark_dispute(user, deal)[0],
        "refund_paid": can_mark_refund_paid(user, deal)[0],
        "approve": access.has_perm(user, "deal.approve", deal.project_id),
        "print": can_print(user, deal)[0],
        "review": can_submit_review(user, deal)[0],
        "supplement": can_add_supplement(user, deal)[0],
        "documents": can_see_documents(user, deal),
    }
