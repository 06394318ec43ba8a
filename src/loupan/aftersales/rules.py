"""Who may do what after the sale, written once (the predicates every part of aftersales
calls, and its pages and API ask): customer service and the leads manage
(``aftersales.manage``); a consultant reads their own buyers' files
(``aftersales.view_own``); the auditor and the office read (``aftersales.view``)."""

from loupan.accounts import access
from loupan.core.errors import conflict
from loupan.deals.models import Deal, DealStatus
from loupan.deals.rules import YES, Answer, ensure

from .errors import AftersalesError

__all__ = ["Answer", "ensure"]

SEE = ("aftersales.view", "aftersales.view_own")
# After the sale: a signed contract (and its delivered unit).
AFTER_SALE = (DealStatus.CONTRACTED,)


def may_see_all(user, project) -> bool:
    return access.has_perm(user, "aftersales.view", project)


def may_see(user, deal) -> bool:
    """The deal's after-sales file: the project's (``aftersales.view``) or a
    consultant's own buyer's (``aftersales.view_own``)."""
    own = deal.consultant_id == user.pk and access.has_perm(
        user, "aftersales.view_own", deal.project_id
    )
    return own or access.has_perm(user, "aftersales.view", deal.project_id)


def deals_for(user, project):
    """The project's deals whose after-sales file the user may see."""
    qs = Deal.objects.filter(project=project)
    if access.has_perm(user, "aftersales.view", project):
        return qs
    if access.has_perm(user, "aftersales.view_own", project):
        return qs.filter(consultant=user)
    return qs.none()


def can_manage(user, project) -> Answer:
    """Deliveries, settlements, certificates, complaints, repairs, surveys."""
    if not access.has_perm(user, "aftersales.manage", project):
        return False, access.permission_error("aftersales.manage")
    return YES


def can_configure(user, project) -> Answer:
    """Complaint categories and their deadlines, questionnaires."""
    if not access.has_perm(user, "aftersales.configure", project):
        return False, access.permission_error("aftersales.configure")
    return YES


def contracted(deal) -> Answer:
    """After-sales work needs a signed contract."""
    if deal.status not in AFTER_SALE:
        return False, conflict(
            f"交易当前为「{deal.get_status_display()}」，签约后才能办理。",
            "deal",
            AftersalesError.NOT_CONTRACTED,
        )
    return YES
