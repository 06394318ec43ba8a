"""Who may do what with a deal's money, written once (the predicates the services call
and the pages and the API ask): ``can_<action>(user, …) -> (bool, DomainError|None)``.

Finance alone records and reverses (``payment.record``); a consultant sees their own
deals' money (``payment.view_own``); the auditor reads (``payment.view``)."""

from loupan.accounts import access
from loupan.core.errors import conflict
from loupan.deals.models import DealStatus
from loupan.deals.rules import YES, Answer, ensure

__all__ = ["Answer", "ensure"]

# A deal takes money once its deposit is confirmed (认购) and until it ends; the deposit
# itself is taken when finance confirms it (deals.services.deal_confirm_deposit).
PAYING = (DealStatus.SUBSCRIBED, DealStatus.CONTRACTED)


def _check(user, project_id, code: str, in_state: bool = True, message="") -> Answer:
    if not access.has_perm(user, code, project_id):
        return False, access.permission_error(code)
    if not in_state:
        return False, conflict(message)
    return YES


def may_see_all(user, project) -> bool:
    return access.has_perm(user, "payment.view", project)


def may_see(user, deal) -> bool:
    """The deal's money: the project's (``payment.view``) or the user's own deal's
    (``payment.view_own``, a consultant)."""
    own = deal.consultant_id == user.pk and access.has_perm(
        user, "payment.view_own", deal.project_id
    )
    return own or access.has_perm(user, "payment.view", deal.project_id)


def can_record(user, deal) -> Answer:
    return _check(
        user,
        deal.project_id,
        "payment.record",
        deal.status in PAYING,
        f"交易当前为「{deal.get_status_display()}」，不能收款。",
    )


def can_hold_sincerity(user, project_id) -> Answer:
    """Money held for a customer before there is a deal (诚意金: received, refunded,
    carried into the deal): finance."""
    return _check(user, getattr(project_id, "pk", project_id), "payment.record")


def can_keep_books(user, project) -> Answer:
    """Receipt books, spoiled forms, invoices and the day sheet: finance."""
    return _check(user, project.pk, "payment.record")


def can_edit_schedule(user, deal) -> Answer:
    return _check(
        user,
        deal.project_id,
        "payment.record",
        deal.status in PAYING,
        f"交易当前为「{deal.get_status_display()}」，不能调整付款计划。",
    )


def can_request_reversal(user, receipt) -> Answer:
    return _check(user, receipt.project_id, "payment.record")


def can_review_day(user, project) -> Answer:
    return _check(user, project.pk, "payment.review")


def can_collect(user, deal) -> Answer:
    """Collection records and deferral requests: finance, the leads, and the deal's own
    consultant (seed 003 款项跟进)."""
    if not may_see(user, deal):
        return False, access.permission_error("payment.collect")
    return _check(
        user,
        deal.project_id,
        "payment.collect",
        deal.status in PAYING,
        f"交易当前为「{deal.get_status_display()}」，无需催款。",
    )


def can_configure(user, project) -> Answer:
    return _check(user, project.pk, "payment.configure")


def abilities(user, deal) -> dict:
    """Every money action's answer for this user on this deal (the page and the API)."""
    return {
        "record": can_record(user, deal)[0],
        "schedule": can_edit_schedule(user, deal)[0],
        "collect": can_collect(user, deal)[0],
    }
