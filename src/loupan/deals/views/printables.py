"""The deal's printables, print-styled HTML pages to print and sign: 房位确认单 (the unit
confirmation slip of a reservation) and 认购书 (the subscription agreement, every amount
also in capital numerals). Contacts as the viewer may see them."""

from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from loupan.core.money import rmb_upper
from loupan.customers import selectors as customer_selectors

from ..models import DealUnit
from .common import deal_of, deal_page


def _print_context(request, deal) -> dict:
    return {
        "project": deal.project,  # with its company (the seller), joined by ``deal_of``
        "deal": deal,
        "units": list(
            DealUnit.objects.filter(deal=deal)
            .select_related("unit__building", "unit__layout")
            .order_by("-is_main", "pk")
        ),
        "contact": customer_selectors.contact(request.user, deal.customer),
        "printed_at": timezone.localtime(),
    }


@deal_page
def deal_slip(request, project, pk):
    """房位确认单."""
    deal = deal_of(request, project, pk)
    return render(request, "deals/print_slip.html", _print_context(request, deal))


@deal_page
def deal_agreement(request, project, pk):
    """认购书, once the deal is subscribed (it has its number)."""
    deal = deal_of(request, project, pk)
    if not deal.number:
        raise Http404
    context = _print_context(request, deal)
    context.update(
        {
            "buyers": [
                (b, customer_selectors.contact(request.user, b.customer))
                for b in deal.buyers.select_related("customer")
            ],
            "steps": list(deal.discounts.all()),
            "clauses": [c for c in deal.clauses.all() if c.approved],
            "upper": {
                "list_total": rmb_upper(deal.list_total or 0),
                "total": rmb_upper(deal.total or 0),
                "deposit": rmb_upper(deal.deposit or 0),
                "down_payment": rmb_upper(deal.down_payment)
                if deal.down_payment is not None
                else "",
            },
        }
    )
    return render(request, "deals/print_agreement.html", context)
