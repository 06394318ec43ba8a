"""What holds a unit on the board (issue 12): the live deal behind it, or the exchange
waiting for approval that reserved it for a deal that still sits on its old unit (the
unit shows 预留 with no deal of its own). The unit's card and page name it and link to
the deal for those who may see the deal."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef

from loupan.approvals.models import ApprovalRequest, ApprovalStatus
from loupan.inventory.models import UnitStatus

from .models import ApprovalKind, Deal, DealUnit


def unit_holder(user, unit) -> dict | None:
    """``{"what": "deal" | "exchange", "deal", "request" (exchange), "visible"}`` for
    ``unit``, or None when nothing holds it (``visible``: ``user`` may open the deal)."""
    live = DealUnit.objects.filter(unit=unit, live=True).select_related("deal").first()
    if live is not None:
        return _shown(user, "deal", live.deal)
    if unit.status != UnitStatus.RESERVED:
        return None
    waiting = ApprovalRequest.objects.filter(
        project_id=unit.project_id,
        kind=ApprovalKind.EXCHANGE,
        status=ApprovalStatus.PENDING,
        subject_type=ContentType.objects.get_for_model(Deal),
    ).order_by("pk")
    for request in waiting:
        if unit.pk in (request.payload.get("new") or {}).get("unit_ids", []):
            deal = Deal.objects.filter(pk=request.subject_id).first()
            if deal is not None:
                return {**_shown(user, "exchange", deal), "request": request}
    return None


def unit_deals(user, unit) -> dict:
    """The deals that held ``unit``, newest first, among those ``user`` may see
    (``rows``), and how many others there are (``hidden``): the unit page's 交易."""
    ids = DealUnit.objects.filter(unit=unit).values("deal_id")
    every = Deal.objects.filter(pk__in=ids)
    rows = list(
        every.restrict(user, "view")
        .annotate(
            on_unit=Exists(DealUnit.objects.filter(deal=OuterRef("pk"), unit=unit, live=True))
        )
        .select_related("consultant")
        .order_by("-reserved_at", "-pk")
    )
    return {"rows": rows, "hidden": every.count() - len(rows)}


def _shown(user, what: str, deal: Deal) -> dict:
    visible = Deal.objects.restrict(user, "view").filter(pk=deal.pk).exists()
    return {"what": what, "deal": deal, "visible": visible}
